import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import type { ChaosRow } from '../scripts/chaos.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `npm run chaos -- --short --json` as a child process (it starts its own PostgreSQL, Temporal, simulator, workers and APIs). */
function runChaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/chaos.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run chaos --short', () => {
  it('loses, duplicates and leaks nothing when workers are killed, Temporal restarts, platforms storm and deliveries repeat', { timeout: 600_000 }, async () => {
    const { code, stdout, stderr } = await runChaos(['--short', '--json', '--workflow-bundle', inject('workflowBundlePath')]);
    const context = `exit code ${code}\n--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr.slice(-6000)}`;
    expect(stdout.trim().startsWith('{'), context).toBe(true);
    const report = JSON.parse(stdout) as { rows: ChaosRow[] };

    expect(report.rows.map((row) => row.scenario), context).toEqual(['worker-kill', 'temporal-restart', 'fault-storm', 'duplicates']);
    for (const row of report.rows) {
      const why = `${row.title}: ${row.did}\n${row.notes.join('\n')}`;
      // Every onboarding accounted for: done, or a person told, or failed with a reason.
      expect(row.completed + row.flagged + row.failed, why).toBe(row.onboardings);
      expect({ lost: row.lost, duplicated: row.duplicated, duplicates: row.duplicates, leaked: row.leaked }, why).toEqual({
        lost: 0,
        duplicated: 0,
        duplicates: { nextnet: 0, netlify: 0, emails: 0, workflows: 0 },
        leaked: 0,
      });
    }
    // Nothing was spared: the workers really were killed, Temporal really went down, the storms really hit.
    const byScenario = Object.fromEntries(report.rows.map((row) => [row.scenario, row]));
    expect(byScenario['worker-kill']!.did).toMatch(/[1-9]\d* SIGKILLs/);
    expect(byScenario['temporal-restart']!.did).toMatch(/stopped for .* then SIGKILLed/);
    expect(byScenario['fault-storm']!.did).toMatch(/[1-9]\d* faulty answers queued at NextNet, [1-9]\d* at Netlify/);
    expect(byScenario['duplicates']!.did).toMatch(/× 5 concurrent deliveries/);
    expect(code, context).toBe(0);
  });
});
