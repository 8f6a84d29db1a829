import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { FileVault, loadOrCreateDevVaultKey } from './file-vault.js';

export * from './types.js';
export { FileVault, loadOrCreateDevVaultKey } from './file-vault.js';

/** The vault the configuration asks for; without VAULT_KEY (development only) a generated key under DATA_DIR. */
export async function openVault(config: Config, logger: Logger): Promise<{ vault: FileVault; devKeyFile: string | undefined }> {
  const directory = path.resolve(config.dataDir, 'vault');
  const vaultLogger = logger.child({ component: 'vault' });
  if (config.vaultKey) return { vault: new FileVault(directory, config.vaultKey, vaultLogger), devKeyFile: undefined };
  const devKey = await loadOrCreateDevVaultKey(config.dataDir);
  return { vault: new FileVault(directory, devKey.key, vaultLogger), devKeyFile: devKey.keyFile };
}
