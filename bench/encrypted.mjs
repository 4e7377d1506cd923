// npm run bench (2/7): the encrypted pipeline of issue #13. Streams a 1 GiB export, in every round, through
//   - the bare reference into the same kind of inline crypt remote the service uses:
//     `curl … /backup/export | tee >(openssl dgst -sha256) | rclone rcat --size N ":crypt,remote='…',password='…',filename_encryption=off:…"`
//     (SHA-256 beside it: the service checks every byte against X-Backup-Sha256; without openssl, none),
//   - the built service with `encryption: "rclone-crypt"`, into a local-folder remote (tmpfs when there is
//     one): the transfer (export start to the verified final file, from the run's log) and the whole run.
// Prints medians and bests, the ratio transfer / bare (target >= 0.95) and the service's peak RSS growth
// (target < 100 MB). Not a test: figures only. BENCH_SIZE and BENCH_ROUNDS as in throughput.mjs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN, barePipeline, hasOpenssl, rateReport, startContractProcess, startOrchestrator, timedRun } from './lib.mjs';

const SIZE = Number(process.env.BENCH_SIZE ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PASSPHRASE = 'bench passphrase';

const contract = await startContractProcess(SIZE);
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dataDir = mkdtempSync(join(scratch, 'orquestador-bench-crypt-'));
const orchestrator = await startOrchestrator(dataDir);
const password = execFileSync('rclone', ['obscure', PASSPHRASE], { encoding: 'utf8' }).trim();
const bareTarget = `:crypt,remote='${join(dataDir, 'bare')}',password='${password}',filename_encryption=off:bare.db`;
try {
  const app = await orchestrator.api('POST', '/api/apps', {
    name: 'bench', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'bench', retention: 1,
    encryption: 'rclone-crypt', encryptionPassphrase: PASSPHRASE,
  });
  const seconds = { bare: [], whole: [], transfer: [] };
  let rss = 0;
  for (let round = 0; round < ROUNDS; round++) {
    seconds.bare.push(await barePipeline(contract.url, SIZE, bareTarget, { hashed: hasOpenssl }));
    rmSync(join(dataDir, 'bare'), { recursive: true, force: true });
    const run = await timedRun(orchestrator, app.id, SIZE);
    seconds.whole.push(run.whole);
    seconds.transfer.push(run.transfer);
    rss = Math.max(rss, run.rssGrowth);
  }
  const { line, ratio } = rateReport(SIZE);
  console.log(`encrypted export (rclone crypt): ${SIZE / 1024 / 1024} MiB into ${scratch}, ${ROUNDS} rounds; ` +
    `${execFileSync('rclone', ['version']).toString().split('\n')[0]}`);
  line(`bare crypt${hasOpenssl ? ' + SHA-256' : ' (no openssl: no SHA-256)'}`, seconds.bare);
  line('app-orquestador rclone-crypt, transfer', seconds.transfer);
  line('app-orquestador rclone-crypt, whole run', seconds.whole);
  ratio('ratio transfer / bare (target >= 0.95)', seconds.transfer, seconds.bare);
  ratio('ratio whole run / bare', seconds.whole, seconds.bare);
  console.log(`peak RSS growth during a run:                ${(rss / 1024 / 1024).toFixed(1)} MB (target < 100 MB)`);
} finally {
  orchestrator.child.kill('SIGTERM');
  contract.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
