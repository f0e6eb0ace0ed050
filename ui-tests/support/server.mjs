// A real `ferry serve` for one test file or one test: a fresh data directory
// in a temporary folder, a free port on 127.0.0.1, and the CLI pointed at it.
//
//   const server = await startServer(t);      // stopped when `t` ends
//   await server.ferryOk(['release', 'create', 'api', '--version', '1.0.0']);
//
// The binary is $FERRY_BIN, else <repo>/target/debug/ferry (or
// $CARGO_TARGET_DIR/debug/ferry). Every command runs without the caller's
// FERRY_* variables and with a private XDG_CONFIG_HOME, so no test reads or
// writes a real profile.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** How long a server may take to answer /healthz after it is started. */
export const START_TIMEOUT_MS = 30_000;

/** The ferry binary the tests run. */
export function ferryBin() {
  if (process.env.FERRY_BIN) return path.resolve(REPO, process.env.FERRY_BIN);
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO, process.env.CARGO_TARGET_DIR)
    : path.join(REPO, 'target');
  return path.join(target, 'debug', 'ferry');
}

/** A port on 127.0.0.1 that no one listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** The caller's environment without any FERRY_* variable. */
function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('FERRY_')) env[key] = value;
  }
  return env;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Servers still running when the process exits (a crashed test file) are
// killed with it.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `ferry serve` on a free port with a fresh data directory and waits
 * until GET /healthz answers 200 (at most 30 s; the server's stderr is in the
 * error otherwise). With a test context `t` (a test's or a suite's), the
 * server is stopped and its folder removed when `t` ends; without one, call
 * `stop()`.
 *
 * `options.args`: more arguments of `ferry serve`; `options.env`: more
 * variables of the server's environment.
 */
export async function startServer(t, options = {}) {
  const bin = ferryBin();
  if (!existsSync(bin)) {
    throw new Error(`no ferry binary at ${bin}: build it with \`cargo build -p ferry\` or set FERRY_BIN`);
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'ferry-ui-'));
  const dataDir = path.join(root, 'data');
  const home = path.join(root, 'home');
  const configHome = path.join(home, 'config');
  await mkdir(dataDir, { recursive: true });
  await mkdir(configHome, { recursive: true });

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    bin,
    ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...(options.args ?? [])],
    {
      cwd: home,
      env: { ...cleanEnv(), RUST_LOG: 'info', NO_COLOR: '1', ...(options.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  // Read both pipes all along: the server must never block on a full one.
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve(exited);
    });
  });
  child.on('error', (error) => { stderr += `\n(spawn failed: ${error.message})`; });

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (exited === null) {
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(late);
    }
    await rm(root, { recursive: true, force: true });
  }
  if (t && typeof t.after === 'function') t.after(stop);

  const describe = () =>
    `ferry serve on ${url} (${bin})` +
    (exited ? ` exited with ${exited.signal ?? exited.code}` : '') +
    `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;

  // Ready when /healthz answers 200 and the bootstrap token is written.
  const deadline = Date.now() + START_TIMEOUT_MS;
  let token = null;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`the server stopped before it was ready: ${describe()}`);
    }
    const healthy = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })
      .then((response) => response.status === 200)
      .catch(() => false);
    if (healthy) {
      token = await readFile(path.join(dataDir, 'bootstrap-token'), 'utf8')
        .then((text) => text.trim() || null)
        .catch(() => null);
      if (token !== null) break;
    }
    if (Date.now() > deadline) {
      const log = describe();
      await stop();
      throw new Error(`GET /healthz never answered 200 in ${START_TIMEOUT_MS / 1000} s: ${log}`);
    }
    await sleep(100);
  }

  /**
   * Runs the ferry CLI against this server: `FERRY_SERVER` is the server,
   * `FERRY_TOKEN` the given token (the bootstrap admin's unless told), no
   * other FERRY_* variable, XDG_CONFIG_HOME private; the working directory
   * is the server's home folder. `stdin` (a string) is written to standard
   * input, which is closed after it; without it, standard input is empty
   * (never a terminal). Answers { code, stdout, stderr }.
   */
  function ferry(args, { stdin, token: as = token, env = {} } = {}) {
    return new Promise((resolve, reject) => {
      const run = spawn(bin, args, {
        cwd: home,
        env: {
          ...cleanEnv(),
          FERRY_SERVER: url,
          FERRY_TOKEN: as,
          XDG_CONFIG_HOME: configHome,
          HOME: home,
          NO_COLOR: '1',
          ...env,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      run.stdout.setEncoding('utf8').on('data', (chunk) => { out += chunk; });
      run.stderr.setEncoding('utf8').on('data', (chunk) => { err += chunk; });
      run.on('error', reject);
      run.on('close', (code, signal) => resolve({ code: code ?? `signal ${signal}`, stdout: out, stderr: err }));
      // A command that exits without reading its input must not fail the run.
      run.stdin.on('error', () => {});
      run.stdin.end(stdin ?? '');
    });
  }

  /** `ferry(args, options)` that must exit 0; throws with its output otherwise. */
  async function ferryOk(args, options) {
    const run = await ferry(args, options);
    if (run.code !== 0) {
      throw new Error(
        `ferry ${args.join(' ')} exited with ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`,
      );
    }
    return run;
  }

  /** `ferry --output json ARGS` that must exit 0: its parsed output. */
  async function json(args, options) {
    const run = await ferryOk([...args, '--output', 'json'], options);
    try {
      return JSON.parse(run.stdout);
    } catch (error) {
      throw new Error(`ferry ${args.join(' ')} printed no JSON (${error.message}):\n${run.stdout}`);
    }
  }

  /** Writes `ferry.toml` in the home folder and applies it. */
  async function apply(config) {
    const file = path.join(home, 'ferry.toml');
    await writeFile(file, config);
    return ferryOk(['apply', '-f', file]);
  }

  return {
    url,
    port,
    /** The bootstrap token of the `admin` user. */
    token,
    dataDir,
    /** The working directory of the commands run. */
    home,
    bin,
    ferry,
    ferryOk,
    json,
    apply,
    stop,
    /** What the server has printed so far. */
    log: () => ({ stdout, stderr }),
  };
}
