// npm run bench (after encrypted.mjs): one export into two destinations at once (issue #14). Streams a 1 GiB export, in every round, through
//   - the bare reference: `curl … /backup/export | tee >(rclone rcat --size N a) | rclone rcat --size N b`,
//     each rcat into its own folder (tmpfs when there is one), the shell waiting for both,
//   - the built service with two destinations (the built-in default and a second local folder, both on the same
//     tmpfs): the transfer (export start to the last verified final file, from the run's log) and the whole run.
// Prints medians and bests, the ratio transfer / bare (target >= 0.9) and the service's peak RSS growth (target
// < 100 MB). Not a test: figures only. BENCH_SIZE and BENCH_ROUNDS as in throughput.mjs.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN, hasOpenssl, rateReport, startContractProcess, startOrchestrator, timedRun } from './lib.mjs';

const SIZE = Number(process.env.BENCH_SIZE ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/**
 * The bare pipeline fanned out by tee; bash's `wait $!` waits for the process substitution too. `hashed` adds
 * SHA-256 beside it (a first tee), the work the service does on top of the copies. Resolves with seconds.
 */
async function bareTee(url, size, a, b, { hashed }) {
  const curl = `curl -sf -X POST -H 'Authorization: Bearer ${TOKEN}' -H 'Content-Type: application/json' -d '{"version":"v1"}' ${url}/backup/export`;
  const hash = hashed ? ' | tee >(openssl dgst -sha256 >/dev/null)' : '';
  const started = process.hrtime.bigint();
  const script = `${curl}${hash} | tee >(rclone rcat -q --size ${size} "${a}") | rclone rcat -q --size ${size} "${b}"; status=$?; wait $!; exit $(( status | $? ))`;
  const shell = spawn('bash', ['-o', 'pipefail', '-c', script], { stdio: 'inherit' });
  const code = await new Promise((resolve) => shell.once('close', resolve));
  if (code !== 0) throw new Error(`bare pipeline failed with exit ${code}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const contract = await startContractProcess(SIZE);
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dataDir = mkdtempSync(join(scratch, 'orquestador-bench-destinations-'));
const second = join(dataDir, 'second');
mkdirSync(second);
const orchestrator = await startOrchestrator(dataDir);
try {
  const destination = await orchestrator.api('POST', '/api/destinations', { name: 'second', remote: second });
  const app = await orchestrator.api('POST', '/api/apps', {
    name: 'bench', url: contract.url, token: TOKEN, schedule: '0 3 * * *', retention: 1,
    destinations: [{ destinationId: 'default', folder: 'bench' }, { destinationId: destination.id, folder: 'bench' }],
  });
  if (!app.id) throw new Error(`app not created: ${JSON.stringify(app)}`);
  const seconds = { bare: [], hashed: [], whole: [], transfer: [] };
  let rss = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const hashed of hasOpenssl ? [false, true] : [false]) {
      seconds[hashed ? 'hashed' : 'bare'].push(await bareTee(contract.url, SIZE, join(dataDir, 'bare-a.db'), join(dataDir, 'bare-b.db'), { hashed }));
      for (const file of ['bare-a.db', 'bare-b.db']) rmSync(join(dataDir, file), { force: true });
    }
    const run = await timedRun(orchestrator, app.id, SIZE);
    seconds.whole.push(run.whole);
    seconds.transfer.push(run.transfer);
    rss = Math.max(rss, run.rssGrowth);
  }
  const { line, ratio } = rateReport(SIZE);
  console.log(`two destinations, one export: ${SIZE / 1024 / 1024} MiB into ${scratch} twice, ${ROUNDS} rounds; ` +
    `${execFileSync('rclone', ['version']).toString().split('\n')[0]}`);
  line('bare curl | tee >(rclone rcat a) | rclone rcat b', seconds.bare);
  if (hasOpenssl) line('bare + SHA-256 (tee >(openssl dgst -sha256))', seconds.hashed);
  line('app-orquestador 2 destinations, transfer', seconds.transfer);
  line('app-orquestador 2 destinations, whole run', seconds.whole);
  ratio('ratio transfer / bare (target >= 0.9)', seconds.transfer, seconds.bare);
  ratio('ratio whole run / bare', seconds.whole, seconds.bare);
  if (hasOpenssl) ratio('ratio transfer / bare + SHA-256', seconds.transfer, seconds.hashed);
  console.log(`peak RSS growth during a run:                ${(rss / 1024 / 1024).toFixed(1)} MB (target < 100 MB)`);
} finally {
  orchestrator.child.kill('SIGTERM');
  contract.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
