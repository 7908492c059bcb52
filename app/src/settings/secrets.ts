/** API keys in the device's keychain (expo-secure-store); never in the bundle or the logs. */
import * as SecureStore from 'expo-secure-store';

export async function loadSecret(name: string): Promise<string | null> {
  return SecureStore.getItemAsync(`edgedistill.${name}`);
}

export async function saveSecret(name: string, value: string): Promise<void> {
  if (value) await SecureStore.setItemAsync(`edgedistill.${name}`, value);
  else await SecureStore.deleteItemAsync(`edgedistill.${name}`);
}
