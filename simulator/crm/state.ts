import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { z } from 'zod';
import type { CrmSource } from '../../crm/types.js';
import { StateFile } from '../platform/state-file.js';

/** `state.json` → `state.hubspot.json` (and `.pipedrive.json`, `.gohighlevel.json`), next to NextNet's and Netlify's. */
export function crmStateFileOf(stateFile: string, source: CrmSource): string {
  return stateFile.endsWith('.json') ? `${stateFile.slice(0, -'.json'.length)}.${source}.json` : `${stateFile}.${source}.json`;
}

/** One simulated CRM's records, loaded at start and saved after every change when a state file is set. */
export class CrmState<State> {
  state: State;
  private readonly file: StateFile<State> | undefined;

  constructor(
    path: string | undefined,
    schema: z.ZodType<State>,
    private readonly empty: () => State,
  ) {
    this.file = path === undefined ? undefined : new StateFile(path, schema, empty);
    const fresh = path !== undefined && !existsSync(path);
    this.state = this.file?.load() ?? empty();
    // What a fresh state made up (ids, a webhook key) must be the same after a restart.
    if (fresh) this.save();
  }

  save(): void {
    this.file?.save(this.state);
  }

  /** A fresh account: every record gone (ids, keys and settings made anew by `empty`, unless `keep` carries them). */
  reset(keep: (fresh: State, old: State) => State = (fresh) => fresh): void {
    this.state = keep(this.empty(), this.state);
    this.save();
  }
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A GoHighLevel-style id: 20 letters and digits. */
export function alphanumericId(length = 20): string {
  return [...randomBytes(length)].map((byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join('');
}

/** The bearer token of `Authorization: Bearer <token>`; undefined when there is none. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}
