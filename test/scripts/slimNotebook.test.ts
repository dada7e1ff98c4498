/**
 * The committed executed copies (scripts/slimNotebook.ts): one PNG per figure, no Plotly bundle, no
 * absolute paths, no wall times, and the same bytes for two runs that differ only in those.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notebookJson, type Notebook } from '../../scripts/notebookRunner.js';
import { slimNotebook } from '../../scripts/slimNotebook.js';

function executed(root: string, seconds: string, eta: string): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
    cells: [
      {
        cell_type: 'markdown',
        metadata: {},
        source: [
          '# Title\n',
          'Results without running anything: [the executed copy](executed/01_x.ipynb) (demo).\n',
        ],
      },
      {
        cell_type: 'code',
        metadata: { execution: { started: seconds } },
        execution_count: 1,
        source: 'nb.show(fig)',
        outputs: [
          {
            output_type: 'stream',
            name: 'stdout',
            text: [
              `generated the phantom: 200 images, in ${seconds}s -> ${root}/data/x\n`,
              `bt: step 3/9 loss 1.2 · 4.1 img/s · ETA ${eta}\n`,
              'step 9/9 done\n',
            ],
          },
          { output_type: 'stream', name: 'stderr', text: ['Hi there: tfjs warning\n'] },
          {
            output_type: 'display_data',
            data: { 'text/html': '<script>/* plotly.js, 4 MB */</script>', 'text/plain': '' },
            metadata: {},
          },
          {
            output_type: 'display_data',
            data: {
              'text/html': '<div id="f"></div><script>Plotly.newPlot()</script>',
              'image/png': 'iVBORw0KGgo=',
              'text/plain': `Figure fig01: ${root}/figures/fig01.html and ${root}/figures/fig01.png`,
            },
            metadata: {},
          },
          {
            output_type: 'display_data',
            data: { 'text/html': '<table><tr><td>1</td></tr></table>', 'text/plain': 'a | 1' },
            metadata: {},
          },
          {
            output_type: 'stream',
            name: 'stdout',
            // The formats of src/train/detectionRun.ts's epoch and closing lines.
            text: [
              `  bt: epoch 2/2 loss 0.5 val mAP50 0.1 best (${seconds}s, validation ${seconds}s)\n`,
              `bt 96px seed 1: test mAP50 0.1 at the best epoch 2 (last epoch 0.1), ${seconds}s\n`,
            ],
          },
        ],
      },
    ],
  };
}

test('a slim copy keeps text, tables and one PNG per figure, and drops the bundle, paths and wall times', () => {
  const slim = slimNotebook(executed('/home/a/clone', '9.0', '1m02s'), '/home/a/clone');
  const cell = slim.cells[1]!;
  assert.deepEqual(cell.metadata, {});
  assert.deepEqual(cell.outputs, [
    {
      output_type: 'stream',
      name: 'stdout',
      text: ['generated the phantom: 200 images, -> data/x\n', 'step 9/9 done\n'],
    },
    {
      output_type: 'display_data',
      data: {
        'image/png': 'iVBORw0KGgo=',
        'text/plain': ['Figure fig01: figures/fig01.html and figures/fig01.png'],
      },
      metadata: {},
    },
    {
      output_type: 'display_data',
      data: { 'text/html': ['<table><tr><td>1</td></tr></table>'], 'text/plain': ['a | 1'] },
      metadata: {},
    },
    {
      output_type: 'stream',
      name: 'stdout',
      text: [
        '  bt: epoch 2/2 loss 0.5 val mAP50 0.1 best\n',
        'bt 96px seed 1: test mAP50 0.1 at the best epoch 2 (last epoch 0.1)\n',
      ],
    },
  ]);
  assert.deepEqual(slim.cells[0], {
    cell_type: 'markdown',
    metadata: {},
    source: [
      '# Title\n',
      'Results without running anything: this is the executed copy of [the source notebook](../01_x.ipynb), written by `npm run reproduce` (demo profile).\n',
    ],
  });
});

test('two runs in different folders with different timings give byte-identical slim copies', () => {
  const a = notebookJson(slimNotebook(executed('/home/a/clone', '9.0', '1m02s'), '/home/a/clone'));
  const b = notebookJson(slimNotebook(executed('/tmp/b', '13.7', '45s'), '/tmp/b/'));
  assert.equal(a, b);
  assert.doesNotMatch(a, /clone|plotly/);
});
