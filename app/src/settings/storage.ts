/** Settings in AsyncStorage (localStorage on the web); keys in the secure store. */
import AsyncStorage from '@react-native-async-storage/async-storage';

import { loadSecret, saveSecret } from './secrets';
import { type AppSettings, type Secrets, mergeSettings } from './settings';

const SETTINGS_KEY = 'edgedistill.settings.v1';

export async function loadSettings(): Promise<AppSettings> {
  const text = await AsyncStorage.getItem(SETTINGS_KEY);
  try {
    return mergeSettings(text ? JSON.parse(text) : {});
  } catch {
    return mergeSettings({});
  }
}

export async function saveSettings(settings: AppSettings): Promise<void> {
  await AsyncStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
}

export async function loadSecrets(): Promise<Secrets> {
  return { serverKey: (await loadSecret('serverKey')) ?? '', roboflowKey: (await loadSecret('roboflowKey')) ?? '' };
}

export async function saveSecrets(secrets: Secrets): Promise<void> {
  await saveSecret('serverKey', secrets.serverKey);
  await saveSecret('roboflowKey', secrets.roboflowKey);
}
