/**
 * The browser has no keychain: keys stay in sessionStorage, gone when the tab closes, and are
 * never written to localStorage.
 */
export async function loadSecret(name: string): Promise<string | null> {
  return globalThis.sessionStorage?.getItem(`edgedistill.${name}`) ?? null;
}

export async function saveSecret(name: string, value: string): Promise<void> {
  if (value) globalThis.sessionStorage?.setItem(`edgedistill.${name}`, value);
  else globalThis.sessionStorage?.removeItem(`edgedistill.${name}`);
}
