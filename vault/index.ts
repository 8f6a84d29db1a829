import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Database } from '../database/index.js';
import { FileVault, loadOrCreateDevVaultKey } from './file-vault.js';
import { PostgresVault } from './postgres-vault.js';

export * from './types.js';
export { FileVault, loadOrCreateDevVaultKey } from './file-vault.js';
export { listSecretAudit, PostgresVault, type AuditQuery, type SecretAuditEntry } from './postgres-vault.js';

/** The vault key: VAULT_KEY, or (development only) a generated key kept under DATA_DIR. */
export async function resolveVaultKey(config: Config): Promise<{ key: Buffer; devKeyFile: string | undefined }> {
  if (config.vaultKey) return { key: config.vaultKey, devKeyFile: undefined };
  const devKey = await loadOrCreateDevVaultKey(config.dataDir);
  return { key: devKey.key, devKeyFile: devKey.keyFile };
}

/**
 * The vault the configuration asks for: in PostgreSQL when a database is given (migrated beforehand), else the file
 * vault under DATA_DIR. Without VAULT_KEY (development only) a generated key under DATA_DIR.
 */
export async function openVault(config: Config, logger: Logger, database?: Database): Promise<{ vault: FileVault | PostgresVault; devKeyFile: string | undefined }> {
  // Audit lines (who read or wrote which secret) are written at info even when LOG_LEVEL asks only for warnings.
  const vaultLogger = logger.child({ component: 'vault' }, ['warn', 'error', 'fatal'].includes(logger.level) ? { level: 'info' } : {});
  const { key, devKeyFile } = await resolveVaultKey(config);
  if (database) return { vault: new PostgresVault({ database, key, logger: vaultLogger }), devKeyFile };
  return { vault: new FileVault(path.resolve(config.dataDir, 'vault'), key, vaultLogger), devKeyFile };
}
