/** Mode, server, Roboflow workflow, thresholds and camera field of view. */
import { useState } from 'react';
import { Pressable, ScrollView, StyleSheet, Switch, Text, TextInput, View } from 'react-native';

import { roboflowUsdPerMinute } from '../modes/cost';
import { KEY_WARNING } from '../modes/roboflow';
import type { ModeName } from '../modes/types';
import { type AppSettings, type Secrets, mergeSettings } from '../settings/settings';

const MODES: { value: ModeName; label: string; cost: string }[] = [
  { value: 'device', label: 'On this device', cost: 'no per-minute cost' },
  { value: 'server', label: 'My server', cost: 'your server’s price (see `edgedistill cost`)' },
  { value: 'roboflow', label: 'Roboflow', cost: 'billed per frame' },
];

export function SettingsScreen(props: { settings: AppSettings; secrets: Secrets; onSave(s: AppSettings, k: Secrets): void; onCancel(): void }) {
  const [s, setS] = useState(props.settings);
  const [k, setK] = useState(props.secrets);
  const set = <K extends keyof AppSettings>(key: K, value: AppSettings[K]) => setS({ ...s, [key]: value });
  type NumberKey = 'conf' | 'horizontalFovDeg' | 'roboflowFps' | 'targetFps';
  const [texts, setTexts] = useState<Record<NumberKey, string>>({
    conf: String(s.conf),
    horizontalFovDeg: String(s.horizontalFovDeg),
    roboflowFps: String(s.roboflowFps),
    targetFps: String(s.targetFps),
  });
  const number = (key: NumberKey) => (
    <TextInput
      style={styles.input}
      testID={`input-${key}`}
      keyboardType="decimal-pad"
      value={texts[key]}
      onChangeText={(v) => {
        setTexts({ ...texts, [key]: v });
        const parsed = Number.parseFloat(v);
        if (Number.isFinite(parsed)) set(key, parsed);
      }}
    />
  );
  return (
    <ScrollView style={styles.root} contentContainerStyle={styles.content}>
      <Text style={styles.title}>Mode</Text>
      {MODES.map((m) => (
        <Pressable key={m.value} accessibilityRole="button" onPress={() => set('mode', m.value)} style={[styles.choice, s.mode === m.value && styles.chosen]}>
          <Text style={styles.choiceText}>{m.label}</Text>
          <Text style={styles.hint}>{m.value === 'roboflow' ? `$${roboflowUsdPerMinute(s.roboflowFps).toFixed(3)} per minute at ${s.roboflowFps} fps` : m.cost}</Text>
        </Pressable>
      ))}

      <Text style={styles.title}>My server</Text>
      <Text style={styles.label}>URL (https://host:8000)</Text>
      <TextInput style={styles.input} autoCapitalize="none" value={s.serverUrl} onChangeText={(v) => set('serverUrl', v)} />
      <Text style={styles.label}>API key (kept in secure storage)</Text>
      <TextInput style={styles.input} autoCapitalize="none" secureTextEntry value={k.serverKey} onChangeText={(v) => setK({ ...k, serverKey: v })} />
      <View style={styles.row}>
        <Text style={styles.label}>Fetch a newer student from the server</Text>
        <Switch value={s.updateModelFromServer} onValueChange={(v) => set('updateModelFromServer', v)} />
      </View>

      <Text style={styles.title}>Roboflow workflow</Text>
      <Text style={styles.warning}>{KEY_WARNING}</Text>
      <Text style={styles.label}>Workspace</Text>
      <TextInput style={styles.input} autoCapitalize="none" value={s.roboflowWorkspace} onChangeText={(v) => set('roboflowWorkspace', v)} />
      <Text style={styles.label}>Workflow id</Text>
      <TextInput style={styles.input} autoCapitalize="none" value={s.roboflowWorkflow} onChangeText={(v) => set('roboflowWorkflow', v)} />
      <Text style={styles.label}>API key</Text>
      <TextInput style={styles.input} autoCapitalize="none" secureTextEntry value={k.roboflowKey} onChangeText={(v) => setK({ ...k, roboflowKey: v })} />
      <Text style={styles.label}>Frames per second sent</Text>
      {number('roboflowFps')}

      <Text style={styles.title}>HUD</Text>
      <Text style={styles.label}>Confidence threshold</Text>
      {number('conf')}
      <Text style={styles.label}>Camera horizontal field of view (degrees)</Text>
      {number('horizontalFovDeg')}
      <Text style={styles.label}>Target frames per second</Text>
      {number('targetFps')}

      <View style={styles.row}>
        <Pressable style={styles.button} accessibilityRole="button" onPress={props.onCancel}>
          <Text style={styles.buttonText}>Cancel</Text>
        </Pressable>
        <Pressable style={[styles.button, styles.save]} accessibilityRole="button" onPress={() => props.onSave(mergeSettings(s), k)}>
          <Text style={styles.buttonText}>Save</Text>
        </Pressable>
      </View>
    </ScrollView>
  );
}

const styles = StyleSheet.create({
  root: { flex: 1, backgroundColor: '#000' },
  content: { padding: 16, gap: 6 },
  title: { color: '#ffd400', fontSize: 22, fontWeight: '900', marginTop: 14 },
  label: { color: '#fff', fontSize: 16 },
  hint: { color: '#ccc', fontSize: 14 },
  warning: { color: '#000', backgroundColor: '#ffd400', padding: 8, fontSize: 15, fontWeight: '700' },
  input: { color: '#fff', borderColor: '#fff', borderWidth: 2, borderRadius: 6, padding: 8, fontSize: 17 },
  choice: { borderColor: '#666', borderWidth: 2, borderRadius: 8, padding: 10 },
  chosen: { borderColor: '#ffd400', backgroundColor: '#222' },
  choiceText: { color: '#fff', fontSize: 18, fontWeight: '700' },
  row: { flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between', gap: 12, marginTop: 10 },
  button: { flex: 1, borderColor: '#fff', borderWidth: 2, borderRadius: 8, padding: 12, alignItems: 'center' },
  save: { backgroundColor: '#1f6feb' },
  buttonText: { color: '#fff', fontSize: 18, fontWeight: '700' },
});
