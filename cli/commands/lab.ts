// `mamba-audio lab TASK`: trains a small Mamba model on a synthetic token task (Selective
// Copying or Induction Heads), with selective (s6) or non-selective (s4) blocks, and
// reports accuracy on fresh sequences and how delta differs between token roles.
import { writeFile } from 'node:fs/promises';

import { writeFileAtomically } from '../../audio/node-file';
import { encodeCheckpoint } from '../../gpu/model/checkpoint';
import { createNodeContext } from '../../gpu/node';
import { LAB_DEFAULTS, runLab, validateLabOptions, type LabLayer, type LabOptions, type LabResult } from '../../gpu/lab/lab';
import { ROLE_NAMES, TASK_ROLES, TokenRole, type TaskOptions } from '../../gpu/lab/tasks';
import { UsageError, type ParsedArgs } from '../args';
import { EXIT_OK, type CliIo, type Command } from '../command';
import { ProgressLine } from '../progress';

const TASKS = ['selective-copying', 'induction-heads'] as const;
/** Exit status after a second Ctrl-C cancelled the run: 128 + SIGINT, as shells report it. */
const EXIT_CANCELLED = 130;
const LAYERS: readonly LabLayer[] = ['s6', 's4'];
const COPYING_DEFAULTS = LAB_DEFAULTS['selective-copying'];
const INDUCTION_DEFAULTS = LAB_DEFAULTS['induction-heads'];

/** Help text for a default: one value, or one per task where they differ. */
function defaultOf(read: (options: LabOptions) => unknown): string {
  const copying = String(read(COPYING_DEFAULTS));
  const induction = String(read(INDUCTION_DEFAULTS));
  return copying === induction ? `(default ${copying})` : `(default ${copying} selective-copying, ${induction} induction-heads)`;
}

function taskLength(options: LabOptions): number {
  return options.task.task === 'selective-copying' ? options.task.contextLength : options.task.length;
}

/** Parses a comma-separated list of positive integers, such as "1,4,16". */
function parseFactors(text: string): number[] {
  const factors = text.split(',').map((part) => Number(part.trim()));
  if (factors.length === 0 || factors.some((factor) => !Number.isInteger(factor) || factor < 1 || factor > 1024)) {
    throw new UsageError(`--eval-factors must be comma-separated integers from 1 to 1024, such as 1,4,16; got '${text}'`);
  }
  return factors;
}

/** Builds the lab options from the task's defaults and the command line. */
export function labOptionsFrom(taskName: TaskOptions['task'], args: ParsedArgs): LabOptions {
  const defaults = LAB_DEFAULTS[taskName];
  const length = args.number('length', { integer: true, min: 3, max: 1 << 20 });
  const dataVocab = args.number('vocab', { integer: true, min: 2, max: 4096 });
  let task: TaskOptions;
  if (defaults.task.task === 'selective-copying') {
    task = {
      ...defaults.task,
      contextLength: length ?? defaults.task.contextLength,
      dataVocab: dataVocab ?? defaults.task.dataVocab,
      memorize: args.number('memorize', { integer: true, min: 1, max: 4096 }) ?? defaults.task.memorize,
    };
  } else {
    if (args.string('memorize') !== undefined) throw new UsageError('--memorize applies to selective-copying only');
    task = { ...defaults.task, length: length ?? defaults.task.length, dataVocab: dataVocab ?? defaults.task.dataVocab };
  }

  const maxMinutes = args.number('max-minutes', { min: 0 });
  const factors = args.string('eval-factors');
  const options: LabOptions = {
    ...defaults,
    task,
    layer: args.choice('layer', LAYERS) ?? defaults.layer,
    dModel: args.number('d-model', { integer: true, min: 1, max: 4096 }) ?? defaults.dModel,
    nLayers: args.number('layers', { integer: true, min: 1, max: 64 }) ?? defaults.nLayers,
    dState: args.number('d-state', { integer: true, min: 1, max: 256 }) ?? defaults.dState,
    expand: args.number('expand', { integer: true, min: 1, max: 16 }) ?? defaults.expand,
    dtMin: args.number('dt-min', { min: 1e-6, max: 10 }) ?? defaults.dtMin,
    dtMax: args.number('dt-max', { min: 1e-6, max: 10 }) ?? defaults.dtMax,
    steps: args.number('steps', { integer: true, min: 1 }) ?? defaults.steps,
    batchSize: args.number('batch', { integer: true, min: 1, max: 4096 }) ?? defaults.batchSize,
    peakLr: args.number('lr', { min: 0, max: 1 }) ?? defaults.peakLr,
    minLr: args.number('min-lr', { min: 0, max: 1 }) ?? defaults.minLr,
    warmupSteps: args.number('warmup', { integer: true, min: 0 }) ?? defaults.warmupSteps,
    weightDecay: args.number('weight-decay', { min: 0, max: 10 }) ?? defaults.weightDecay,
    gradClip: args.number('grad-clip', { min: 0 }) ?? defaults.gradClip,
    maxTrainSeconds: maxMinutes !== undefined ? maxMinutes * 60 : defaults.maxTrainSeconds,
    evalEvery: args.number('eval-every', { integer: true, min: 0 }) ?? defaults.evalEvery,
    checkSequences: args.number('check-sequences', { integer: true, min: 1 }) ?? defaults.checkSequences,
    stopAtAccuracy: args.number('stop-at', { min: 0 }) ?? defaults.stopAtAccuracy,
    evalSequences: args.number('eval-sequences', { integer: true, min: 1 }) ?? defaults.evalSequences,
    evalBatchSize: args.number('eval-batch', { integer: true, min: 1, max: 4096 }) ?? defaults.evalBatchSize,
    evalLengthFactors: factors !== undefined ? parseFactors(factors) : defaults.evalLengthFactors,
    traceSequences: args.number('trace-sequences', { integer: true, min: 1 }) ?? defaults.traceSequences,
    seed: args.number('seed', { integer: true, min: 0 }) ?? defaults.seed,
  };
  if (options.minLr > options.peakLr) throw new UsageError(`--min-lr ${options.minLr} is above --lr ${options.peakLr}`);
  try {
    validateLabOptions(options);
  } catch (error) {
    // Every value came from the command line, so an invalid one is a usage error.
    throw new UsageError((error as Error).message);
  }
  return options;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function describeTask(task: TaskOptions): string {
  if (task.task === 'selective-copying') {
    return `selective copying: ${task.memorize} tokens to remember, drawn from ${task.dataVocab} data tokens, among ${task.contextLength} context positions`;
  }
  return `induction heads: ${task.length} tokens, ${task.dataVocab} data tokens`;
}

/** Formats the example, one line per position: token, role, mean delta per layer, target and prediction. */
function formatExample(result: LabResult): string {
  const { example, vocabulary } = result;
  const L = example.tokens.length;
  const DI = example.channels;
  const header = ['  t', 'token', 'role', ...example.layers.map((_, layer) => `delta L${layer}`), 'target', 'predicted'];
  const lines = [header.join('\t')];
  for (let t = 0; t < L; t++) {
    const role = example.roles[t] as TokenRole;
    // Noise and filler positions make up most of a sequence; only those next to another role are shown.
    const isBackground = role === TokenRole.Noise || role === TokenRole.Filler;
    const nearOther = [-1, 1].some((step) => {
      const other = example.roles[t + step] as TokenRole | undefined;
      return other !== undefined && other !== TokenRole.Noise && other !== TokenRole.Filler;
    });
    if (isBackground && !nearOther) continue;
    const deltas = example.layers.map((layer) => {
      let sum = 0;
      for (let d = 0; d < DI; d++) sum += layer.delta[t * DI + d];
      return (sum / DI).toFixed(4);
    });
    const answer = example.answerMask[t] === 1;
    lines.push(
      [
        String(t).padStart(3),
        vocabulary.names[example.tokens[t]],
        ROLE_NAMES[role],
        ...deltas,
        answer ? vocabulary.names[example.targets[t]] : '',
        answer ? vocabulary.names[example.predictions[t]] : '',
      ].join('\t'),
    );
  }
  return lines.join('\n');
}

function formatReport(result: LabResult): string {
  const { options, config } = result;
  const kind = options.layer === 's6' ? 's6 (selective)' : 's4 (non-selective LTI ablation)';
  const lines = [
    `task: ${describeTask(options.task)}; model: ${kind}, ${config.nLayers} layers, D=${config.dModel}, N=${config.dState}, ` +
      `${result.parameterCount.toLocaleString('en-US')} parameters`,
    `training: ${result.stepsRun} steps of ${options.batchSize} sequences in ${result.trainSec.toFixed(1)} s` +
      `${result.endedEarly ? ' (ended early)' : ''}, last loss ${result.finalLoss.toFixed(4)} nats per answer`,
    `evaluation (${result.evalSec.toFixed(1)} s), fresh sequences, argmax at the answer positions:`,
  ];
  for (const entry of result.evaluations) {
    lines.push(
      `  ${String(entry.factor).padStart(3)}x length  L=${String(entry.length).padStart(6)}  accuracy ${percent(entry.accuracy).padStart(6)} ` +
        `of ${entry.answers} answers, ${percent(entry.sequenceAccuracy)} of ${entry.sequences} sequences all right`,
    );
  }
  lines.push(`mean delta per token role over ${options.traceSequences} sequences (all channels):`);
  for (const layer of result.deltaByRole) {
    const parts = TASK_ROLES[options.task.task]
      .filter((role) => layer.meanDelta[role] !== undefined)
      .map((role) => `${ROLE_NAMES[role]} ${layer.meanDelta[role]!.toFixed(4)}`);
    lines.push(`  layer ${layer.layer}: ${parts.join(', ')}`);
  }
  const [first] = result.deltaProfile;
  if (first) {
    const span = first.afterAnchor.length;
    lines.push(
      `mean delta at each ${first.anchor === TokenRole.Memorize ? 'token to remember' : ROLE_NAMES[first.anchor]} and the ${span - 1} ${ROLE_NAMES[first.background]} positions after it ` +
        `(the conv window), against ${ROLE_NAMES[first.background]} further away:`,
    );
    for (const layer of result.deltaProfile) {
      const steps = layer.afterAnchor.map((value, k) => `+${k} ${value.toFixed(4)}`);
      lines.push(`  layer ${layer.layer}: ${steps.join(', ')}; further away ${layer.farBackground.toFixed(4)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Builds the --json result: everything but the example's arrays, which --save-example writes. */
function resultJson(result: LabResult) {
  return {
    options: result.options,
    config: result.config,
    parameterCount: result.parameterCount,
    stepsRun: result.stepsRun,
    endedEarly: result.endedEarly,
    skippedSteps: result.skippedSteps,
    finalLoss: result.finalLoss,
    trainSec: result.trainSec,
    evalSec: result.evalSec,
    accuracy: result.accuracy,
    evaluations: result.evaluations,
    checks: result.checks,
    deltaByRole: result.deltaByRole.map((layer) => ({
      layer: layer.layer,
      meanDelta: Object.fromEntries(Object.entries(layer.meanDelta).map(([role, value]) => [ROLE_NAMES[Number(role) as TokenRole], value])),
    })),
    deltaProfile: result.deltaProfile.map((layer) => ({
      layer: layer.layer,
      anchor: ROLE_NAMES[layer.anchor],
      background: ROLE_NAMES[layer.background],
      afterAnchor: layer.afterAnchor,
      farBackground: layer.farBackground,
    })),
  };
}

/** Builds the --save-example JSON: the example and each layer's delta (L, DI) as an array of rows. */
function exampleJson(result: LabResult) {
  const { example, vocabulary } = result;
  const L = example.tokens.length;
  const DI = example.channels;
  const rows = (data: Float32Array) => Array.from({ length: L }, (_, t) => Array.from(data.subarray(t * DI, (t + 1) * DI)));
  return {
    vocabulary: vocabulary.names,
    tokens: Array.from(example.tokens),
    roles: Array.from(example.roles, (role) => ROLE_NAMES[role as TokenRole]),
    answerPositions: Array.from(example.answerMask.keys()).filter((t) => example.answerMask[t] === 1),
    targets: Array.from(example.targets),
    predictions: Array.from(example.predictions),
    delta: example.layers.map((layer) => rows(layer.delta)),
  };
}

export const labCommand: Command = {
  name: 'lab',
  summary: 'train and score a model on a synthetic selectivity task',
  synopsis: '[options] TASK',
  description:
    'Trains a small Mamba model from scratch on a synthetic token task from the Mamba paper and\n' +
    'reports the accuracy on fresh sequences (argmax at the answer positions).\n' +
    '  selective-copying: data tokens sit at random positions among noise tokens; after them come\n' +
    '    one marker per data token, and at the i-th marker the model must output the i-th data token.\n' +
    '  induction-heads: random data tokens with one trigger token followed by a key; at the last\n' +
    '    position the trigger appears again and the model must output the key. Evaluated at the\n' +
    '    training length and at multiples of it (--eval-factors).\n' +
    '--layer s6 uses selective blocks; --layer s4 the non-selective ablation of the same block, where\n' +
    'delta, B and C are learned constants (linear time-invariant), not the original S4 layer.\n' +
    'Also prints the mean step size delta per token role and layer, the numbers behind the\n' +
    'selectivity heatmap. Ctrl-C ends training and goes on to the evaluation; a second Ctrl-C cancels.',
  options: [
    { name: 'layer', valueName: 's6|s4', description: 'selective blocks (s6) or the non-selective LTI ablation (s4) (default s6)' },
    { name: 'length', short: 'L', valueName: 'N', description: `selective-copying: context tokens before the markers; induction-heads: tokens per sequence ${defaultOf(taskLength)}` },
    { name: 'vocab', valueName: 'N', description: `distinct data tokens, not counting noise, marker or trigger ${defaultOf((o) => o.task.dataVocab)}` },
    { name: 'memorize', valueName: 'N', description: `selective-copying: data tokens to remember per sequence (default ${COPYING_DEFAULTS.task.task === 'selective-copying' ? COPYING_DEFAULTS.task.memorize : ''})` },
    { name: 'd-model', valueName: 'D', description: `model width ${defaultOf((o) => o.dModel)}` },
    { name: 'layers', valueName: 'N', description: `number of Mamba blocks ${defaultOf((o) => o.nLayers)}` },
    { name: 'd-state', valueName: 'N', description: `SSM state size per channel ${defaultOf((o) => o.dState)}` },
    { name: 'expand', valueName: 'E', description: `inner width factor, d_inner = E * D ${defaultOf((o) => o.expand)}` },
    { name: 'dt-min', valueName: 'X', description: `smallest initial step size delta, drawn log-uniform up to --dt-max ${defaultOf((o) => o.dtMin)}` },
    { name: 'dt-max', valueName: 'X', description: `largest initial step size delta ${defaultOf((o) => o.dtMax)}` },
    { name: 'steps', valueName: 'N', description: `optimizer steps, each on fresh sequences ${defaultOf((o) => o.steps)}` },
    { name: 'batch', valueName: 'N', description: `sequences per step ${defaultOf((o) => o.batchSize)}` },
    { name: 'lr', valueName: 'X', description: `peak learning rate ${defaultOf((o) => o.peakLr)}` },
    { name: 'min-lr', valueName: 'X', description: `learning rate at the end of the cosine decay ${defaultOf((o) => o.minLr)}` },
    { name: 'warmup', valueName: 'N', description: `linear warm-up steps ${defaultOf((o) => o.warmupSteps)}` },
    { name: 'weight-decay', valueName: 'X', description: `AdamW weight decay on matrices ${defaultOf((o) => o.weightDecay)}` },
    { name: 'grad-clip', valueName: 'X', description: `global gradient norm limit, 0 for none ${defaultOf((o) => o.gradClip)}` },
    { name: 'max-minutes', valueName: 'MIN', description: 'stop training after this many minutes and evaluate (default: no limit)' },
    { name: 'eval-every', valueName: 'N', description: `score the check set every N steps, 0 only at the end ${defaultOf((o) => o.evalEvery)}` },
    { name: 'check-sequences', valueName: 'N', description: `sequences in the check set ${defaultOf((o) => o.checkSequences)}` },
    { name: 'stop-at', valueName: 'FRACTION', description: 'end training once a check reaches this accuracy, e.g. 0.99 (default: never)' },
    { name: 'eval-sequences', valueName: 'N', description: `fresh sequences scored at the end, per length ${defaultOf((o) => o.evalSequences)}` },
    { name: 'eval-batch', valueName: 'N', description: `sequences per evaluation forward ${defaultOf((o) => o.evalBatchSize)}` },
    { name: 'eval-factors', valueName: 'LIST', description: `multiples of the training length to score, e.g. 1,4,16 ${defaultOf((o) => o.evalLengthFactors.join(','))}` },
    { name: 'trace-sequences', valueName: 'N', description: `sequences whose delta is averaged per token role ${defaultOf((o) => o.traceSequences)}` },
    { name: 'seed', valueName: 'N', description: `seed of the weights and of every sequence ${defaultOf((o) => o.seed)}` },
    { name: 'save', valueName: 'FILE', description: 'write the trained weights as a safetensors checkpoint' },
    { name: 'save-example', valueName: 'FILE', description: 'write one example sequence with its per-layer delta (L x d_inner) as JSON' },
    { name: 'show-example', description: 'print the example sequence around its non-noise tokens, with the mean delta per layer' },
    { name: 'json', description: 'print progress and the result as JSON lines instead of text' },
  ],
  positionals: [{ name: 'TASK', description: 'selective-copying or induction-heads' }],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    const taskName = args.positionals[0];
    if (!(TASKS as readonly string[]).includes(taskName)) throw new UsageError(`unknown task '${taskName}'; use ${TASKS.join(' or ')}`);
    const options = labOptionsFrom(taskName as TaskOptions['task'], args);
    const json = args.flag('json');
    const savePath = args.string('save');
    const examplePath = args.string('save-example');

    // The first Ctrl-C ends training and goes on to the evaluation; a second one cancels the run.
    const stopTraining = new AbortController();
    const cancel = new AbortController();
    const onSigint = () => {
      if (stopTraining.signal.aborted) cancel.abort();
      else stopTraining.abort();
    };
    process.on('SIGINT', onSigint);
    const progress = new ProgressLine(io, !json && process.stderr.isTTY === true);
    const emit = (record: Record<string, unknown>) => {
      if (json) io.stdout(`${JSON.stringify(record)}\n`);
    };

    const ctx = await createNodeContext();
    try {
      if (!json) io.stderr(`adapter: ${ctx.info.adapterName}\n`);
      const result = await runLab(ctx, options, {
        stopTraining: stopTraining.signal,
        signal: cancel.signal,
        onStep: (report) => {
          emit({ event: 'step', ...report });
          progress.update(
            `step ${report.step}/${report.totalSteps}`,
            report.step / report.totalSteps,
            `loss ${report.loss.toFixed(4)}  ${Math.round(report.tokensPerSec).toLocaleString('en-US')} tokens/s  ${report.elapsedSec.toFixed(0)} s`,
          );
        },
        onCheck: (report) => {
          emit({ event: 'check', ...report });
          if (!json) progress.message(`step ${report.step}: accuracy ${percent(report.accuracy)} on ${report.sequences} check sequences`);
        },
        onSkip: (event) => {
          emit({ event: 'skipped-step', ...event });
          if (!json) progress.message(`step ${event.step} skipped: non-finite ${event.reason}`);
        },
        onPhase: (phase) => {
          emit({ event: 'phase', phase });
          if (!json && phase !== 'training') progress.message(`${phase}...`);
        },
      });
      progress.done();

      if (json) emit({ event: 'result', ...resultJson(result) });
      else io.stdout(formatReport(result));
      if (args.flag('show-example') && !json) io.stdout(`example sequence (noise and filler runs left out):\n${formatExample(result)}\n`);
      if (savePath) {
        await writeFileAtomically(savePath, encodeCheckpoint({ config: result.config, params: result.parameters, trainer: { step: result.stepsRun, lab: result.options } }));
        if (!json) io.stderr(`weights written to ${savePath}\n`);
      }
      if (examplePath) {
        await writeFile(examplePath, `${JSON.stringify(exampleJson(result))}\n`);
        if (!json) io.stderr(`example written to ${examplePath}\n`);
      }
    } catch (error) {
      if (!cancel.signal.aborted || (error as Error).name !== 'AbortError') throw error;
      progress.done();
      io.stderr('mamba-audio lab: cancelled; no result was printed or saved\n');
      return EXIT_CANCELLED;
    } finally {
      process.off('SIGINT', onSigint);
      ctx.destroy();
    }
    return EXIT_OK;
  },
};
