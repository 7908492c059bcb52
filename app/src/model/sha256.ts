/** SHA-256 on the web build: WebCrypto. The phone's is sha256.native.ts. */
export { webSha256Hex as sha256Hex } from './webcrypto';
