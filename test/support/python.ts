/**
 * Python for the polyglot tests: Debian's /usr/bin/python3 with python3-grpcio,
 * python3-grpc-tools and python3-protobuf (.ci/run installs them), never the first python3
 * on PATH, which may be another interpreter without them. A missing package fails the test
 * with the command that installs it: these tests are never skipped.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './server';

export const PYTHON = '/usr/bin/python3';
export const REPO = join(__dirname, '..', '..');
/** Debian's grpc-proto: the upstream .proto files of gRPC's own services. */
export const GRPC_PROTO = '/usr/share/grpc-proto';
const INSTALL = 'apt-get install python3-grpcio python3-grpc-tools python3-protobuf grpc-proto (see .ci/run)';

/** Throws, saying what to install, unless Python, grpcio, grpc_tools and protobuf are there. */
export function requirePython(): void {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: ${INSTALL}`);
  try {
    execFileSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc, google.protobuf'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`${PYTHON} lacks gRPC packages (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}): ${INSTALL}`);
  }
  if (!existsSync(join(GRPC_PROTO, 'grpc', 'reflection', 'v1', 'reflection.proto'))) throw new Error(`${GRPC_PROTO} is missing: ${INSTALL}`);
}

/** Runs `python3 -m grpc_tools.protoc` (messages and gRPC stubs) into `out`; throws with protoc's output on failure. */
export function generateStubs(out: string, includeDir: string, files: string[]): void {
  try {
    execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${includeDir}`, `--python_out=${out}`, `--grpc_python_out=${out}`, ...files], {
      cwd: REPO,
      stdio: 'pipe',
    });
  } catch (err) {
    throw new Error(`grpc_tools.protoc failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
}

const STUBS = {
  /** The contract's messages and QueueService stub: `from coramq.v1 import queue_pb2`. */
  contract: ['proto', ['coramq/v1/queue.proto']],
  /** The reflection protocol from Debian's grpc-proto: `from reflection.v1 import reflection_pb2`. */
  reflection: [join(GRPC_PROTO, 'grpc'), ['reflection/v1/reflection.proto', 'reflection/v1alpha/reflection.proto']],
} as const;

/**
 * For a describe block: checks Python, generates `stubs` into a temporary directory and
 * starts a test server before its tests; closes and removes both after them.
 */
export function withPythonStubs(stubs: keyof typeof STUBS, server: Parameters<typeof startTestServer>[0] = {}): { t: TestServer; stubs: string } {
  const context = {} as { t: TestServer; stubs: string };
  beforeAll(async () => {
    requirePython();
    context.stubs = tempDir(`python-${stubs}`);
    const [includeDir, files] = STUBS[stubs];
    generateStubs(context.stubs, includeDir, [...files]);
    context.t = await startTestServer(server);
  });
  afterAll(async () => {
    await context.t?.close();
    if (context.stubs) rmSync(context.stubs, { recursive: true, force: true });
  });
  return context;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `coramq-${prefix}-`));
}

export interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface PythonOptions {
  cwd?: string;
  /** Directories for PYTHONPATH (generated stubs, test/polyglot/py). */
  pythonPath?: string[];
  env?: Record<string, string>;
  /** Sees each stdout line as it arrives; a string it returns is written to stdin as a line. */
  onLine?: (line: string) => string | undefined;
  timeoutMs?: number;
}

/**
 * Runs `python3 <args>` (unbuffered) to its end. With `onLine` a script can ask the test to
 * act (move the server's clock) and wait for the answer on its stdin.
 */
export function runPython(args: string[], options: PythonOptions = {}): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-u', ...args], {
      cwd: options.cwd ?? REPO,
      env: { ...process.env, ...options.env, PYTHONPATH: (options.pythonPath ?? []).join(':'), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        const reply = options.onLine?.(line);
        if (reply !== undefined) child.stdin.write(`${reply}\n`);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, stdout, stderr });
    });
  });
}
