/**
 * `npm run reproduce [-- --profile smoke|demo|paper] [--only 01,02] [--timeout SECONDS]`
 *
 * Executes the notebooks in order through Jupyter (nbclient) on the tslab kernel and writes executed
 * copies to executed/<profile>/. The source notebooks stay output-free. After a whole demo run (no
 * --only), the tables and timings in REPRODUCTION.md are rewritten from what it wrote (scripts/reproduction.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { PROFILE_NAMES, repoRoot, type ProfileName } from '../src/config.js';
import { updateReproduction } from './reproduction.js';

const KERNEL = 'cxr-tslab';

interface Args {
  profile: ProfileName;
  only: string[] | null;
  timeout: number;
  quiet: boolean;
}

function fail(msg: string): never {
  console.error(`reproduce: ${msg}`);
  process.exit(1);
}

function parseArgs(argv: string[]): Args {
  const env = process.env.CXR_PROFILE;
  let profile = (env && env !== '' ? env : 'demo') as ProfileName;
  let only: string[] | null = null;
  let timeout = 3600;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a.startsWith('--profile')) profile = value() as ProfileName;
    else if (a.startsWith('--only')) only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--timeout')) timeout = Number(value());
    else if (a === '--quiet') quiet = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run reproduce -- [--profile smoke|demo|paper] [--only 01,02] [--timeout SECONDS_PER_CELL] [--quiet]');
      process.exit(0);
    } else fail(`unknown argument ${a} (try --help)`);
  }
  if (!PROFILE_NAMES.includes(profile)) fail(`profile '${profile}' is not one of ${PROFILE_NAMES.join(', ')}`);
  if (!(timeout > 0)) fail('--timeout must be a positive number of seconds');
  return { profile, only, timeout, quiet };
}

/** A Python that has nbclient and nbformat (Debian's first: `python3` on PATH may be a bare pyenv one). */
function findJupyterPython(): string | null {
  const candidates = [process.env.CXR_PYTHON, '/usr/bin/python3', 'python3', 'python'].filter((c): c is string => Boolean(c));
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import nbclient, nbformat, jupyter_client'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

function kernelRegistered(py: string, name: string): boolean {
  const r = spawnSync(py, ['-c', `from jupyter_client.kernelspec import KernelSpecManager as K; import sys; sys.exit(0 if '${name}' in K().find_kernel_specs() else 1)`], { stdio: 'ignore' });
  return r.status === 0;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const root = repoRoot();
  const py = findJupyterPython();
  if (!py) {
    fail(
      'no Jupyter found (a Python with nbclient and nbformat). Install it with\n' +
        '  pip install nbclient nbconvert ipykernel\n' +
        'or, on Debian/Ubuntu,\n' +
        '  apt-get install jupyter-nbconvert python3-nbclient\n' +
        'or point CXR_PYTHON at a Python that has them.',
    );
  }
  const tslab = join(root, 'node_modules', '.bin', 'tslab');
  if (!existsSync(tslab)) fail(`${tslab} is missing: run npm ci first`);
  // A kernelspec private to this checkout, so execution never picks up a tslab registered from
  // another clone; it is put first on JUPYTER_PATH for the run only.
  const jupyterDir = join(root, 'build', 'jupyter');
  mkdirSync(join(jupyterDir, 'kernels', KERNEL), { recursive: true });
  writeFileSync(
    join(jupyterDir, 'kernels', KERNEL, 'kernel.json'),
    JSON.stringify({ argv: [tslab, 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript (cxr-notebooks)', language: 'typescript' }, null, 2),
  );
  // For interactive use (JupyterLab, VS Code), register the ordinary `tslab` kernel once.
  if (!kernelRegistered(py, 'tslab')) {
    const r = spawnSync(tslab, ['install', `--python=${py}`, `--binary=${tslab}`], { encoding: 'utf8' });
    console.log(r.status === 0 ? `registered the tslab kernel with ${py}'s Jupyter` : `note: could not register the tslab kernel (${(r.stderr || '').trim()})`);
  }
  const nbDir = join(root, 'notebooks');
  let notebooks = readdirSync(nbDir).filter((f) => /^\d\d_.+\.ipynb$/.test(f)).sort();
  if (args.only) {
    const wanted = args.only;
    const unknown = wanted.filter((w) => !notebooks.some((n) => n.startsWith(w)));
    if (unknown.length) fail(`--only ${unknown.join(',')}: no such notebook (have ${notebooks.join(', ')})`);
    notebooks = notebooks.filter((n) => wanted.some((w) => n.startsWith(w)));
  }
  const out = join(root, 'executed', args.profile);
  console.log(`reproduce: profile ${args.profile}, ${notebooks.length} notebook(s), Jupyter from ${py}; executed copies in ${out}`);
  const env = {
    ...process.env,
    CXR_PROFILE: args.profile,
    JUPYTER_PATH: [jupyterDir, process.env.JUPYTER_PATH].filter(Boolean).join(delimiter),
    // The tslab launcher is a node script: make sure this node is found first.
    PATH: [dirname(process.execPath), join(root, 'node_modules', '.bin'), process.env.PATH].filter(Boolean).join(delimiter),
  };
  const r = spawnSync(
    py,
    [join(root, 'scripts', 'run_notebooks.py'), '--kernel', KERNEL, '--out', out, '--timeout', String(args.timeout), ...(args.quiet ? [] : ['--echo']), ...notebooks.map((n) => join(nbDir, n))],
    { stdio: 'inherit', env },
  );
  if (r.error) fail(`could not start ${py}: ${r.error.message}`);
  // Only a whole run rewrites the page: a partial one would mix its timings with an older run's.
  if (r.status === 0 && args.profile === 'demo' && !args.only) {
    const done = updateReproduction(root);
    if (done.length) console.log(`REPRODUCTION.md: tables and timings rewritten (${done.join(', ')})`);
  }
  process.exit(r.status ?? 1);
}

try {
  main();
} catch (e) {
  fail((e as Error).message);
}
