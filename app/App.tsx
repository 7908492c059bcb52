/** The driver's app: the HUD, and the settings behind one button. */
import { StatusBar } from 'expo-status-bar';
import { useEffect, useState } from 'react';
import { Platform, Text, View } from 'react-native';

import { HudScreen } from './src/screens/HudScreen';
import { SettingsScreen } from './src/screens/SettingsScreen';
import { type AppSettings, type Secrets, fromQuery } from './src/settings/settings';
import { loadSecrets, loadSettings, saveSecrets, saveSettings } from './src/settings/storage';

export default function App() {
  const [settings, setSettings] = useState<AppSettings | null>(null);
  const [secrets, setSecrets] = useState<Secrets | null>(null);
  const [editing, setEditing] = useState(false);

  useEffect(() => {
    void (async () => {
      let [s, k] = [await loadSettings(), await loadSecrets()];
      if (Platform.OS === 'web') [s, k] = fromQuery(globalThis.location.search, s, k);
      setSettings(s);
      setSecrets(k);
    })();
  }, []);

  if (!settings || !secrets) return <View style={{ flex: 1, backgroundColor: '#000' }} />;
  return (
    <View style={{ flex: 1, backgroundColor: '#000' }}>
      <StatusBar style="light" hidden />
      {editing ? (
        <SettingsScreen
          settings={settings}
          secrets={secrets}
          onCancel={() => setEditing(false)}
          onSave={(s, k) => {
            setSettings(s);
            setSecrets(k);
            setEditing(false);
            void saveSettings(s);
            void saveSecrets(k);
          }}
        />
      ) : (
        <HudScreen settings={settings} secrets={secrets} onSettings={() => setEditing(true)} />
      )}
    </View>
  );
}
