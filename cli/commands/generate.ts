// `mamba-audio generate`: generates audio sample by sample from a model's recurrent state,
// optionally continuing a prompt clip, and writes a WAV file.
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readAudioFile, writeFileAtomically } from '../../audio/node-file';
import { decodeCodes } from '../../audio/mulaw';
import { computePeaks } from '../../audio/peaks';
import { prepareCodes } from '../../audio/prepare';
import { encodeWav } from '../../audio/wav-encode';
import { createBackboneGenerator, type BackboneGenerator } from '../../gpu/generate/backbone';
import type { ChunkTraces, CodeArray, Generator } from '../../gpu/generate/generator';
import type { GpuContext } from '../../gpu/context';
import type { Checkpoint } from '../../gpu/model/checkpoint';
import { innerWidth, type ModelConfig } from '../../gpu/model/config';
import { SashimiGenerator } from '../../gpu/generate/sashimi-generator';
import { MambaLM } from '../../gpu/model/lm';
import { SashimiLM } from '../../gpu/model/sashimi-lm';
import { createNodeContext } from '../../gpu/node';
import { UsageError, type ParsedArgs } from '../args';
import { EXIT_OK, type CliIo, type Command } from '../command';
import { GenerationTraceRecorder, defaultTraceHop } from '../generation-traces';
import { requireOutputFolder } from '../output-folder';
import { ProgressLine } from '../progress';
import { encodeTraceSafetensors, writeTraceJson, type TraceRecord } from '../render/trace-file';
import { countOf, formatDuration, readCheckpointFile } from '../training';
import { DEFAULT_WIDTH_PX, maxWindowSamples, writePng } from './inspect';

/** The model shipped with the app; the CLI uses it when no --model is given. */
export const DEFAULT_MODEL_PATH = fileURLToPath(new URL('../../assets/default-model.safetensors', import.meta.url));

/** Below this temperature sampling is close to greedy, which tends to collapse into silence. */
const LOW_TEMPERATURE = 0.5;
/**
 * Most prompt rows (samples times streams) read by one parallel forward. Its activations
 * take about 24 KB per row for the default model (D 64, 4 layers), so this bounds them
 * near 1.5 GB; the rest of a longer prompt is fed step by step.
 */
const MAX_PREFILL_ROWS = 65536;

/** Prompt samples per generator.step() call when the prompt is fed step by step. */
const PROMPT_STEP_PIECE = 4096;

/**
 * Runs the prompt (the same codes for every stream) through the model's parallel forward
 * and hands the resulting state and last logits to the generator, so that generation
 * continues from the prompt. A prompt longer than one forward can hold (the device's
 * binding size, MAX_PREFILL_ROWS) is prefilled up to that length and fed through the
 * generator's recurrent step from there, which continues the same state exactly.
 */
export async function readPrompt(
  ctx: GpuContext,
  checkpoint: Checkpoint,
  generator: BackboneGenerator,
  promptCodes: Uint8Array,
  streams: number,
  io: CliIo,
  maxRows = MAX_PREFILL_ROWS,
): Promise<void> {
  const { config, params } = checkpoint;
  const repeated = (codes: Uint8Array) => {
    const inputs = new Uint32Array(codes.length * streams);
    for (let t = 0; t < codes.length; t++) inputs.fill(codes[t], t * streams, (t + 1) * streams);
    return inputs;
  };
  const parallel = Math.min(promptCodes.length, Math.floor(Math.min(maxWindowSamples(ctx, config), maxRows) / streams));
  const head = promptCodes.subarray(0, parallel);
  if (generator instanceof SashimiGenerator) {
    // Any prompt length works: the U-Net's prefill also captures its partly filled pooling buffers.
    const model = new SashimiLM(ctx, config, params);
    try {
      const { state, lastLogits } = await model.prefill(repeated(head), streams);
      generator.setState(state, { logits: lastLogits });
    } finally {
      model.destroy();
    }
  } else {
    // createBackboneGenerator returns the flat Generator for flat configs.
    const model = new MambaLM(ctx, config, params);
    try {
      const { states, lastLogits } = await model.prefill(repeated(head), streams);
      (generator as Generator).setState(states, { logits: lastLogits });
    } finally {
      model.destroy();
    }
  }

  const rest = promptCodes.subarray(parallel);
  if (rest.length === 0) return;
  const rate = config.sampleRateHz;
  io.stderr(`prompt: the first ${(parallel / rate).toFixed(2)} s run through one parallel forward, the longest one forward may take here, and the last ${(rest.length / rate).toFixed(2)} s step by step\n`);
  for (let start = 0; start < rest.length; start += PROMPT_STEP_PIECE) await generator.step(repeated(rest.subarray(start, start + PROMPT_STEP_PIECE)));
}

/** Writes the traces recorded during generation in inspect's formats: the trace file, the PNG, or both. */
async function writeGenerationTraces(
  job: { recorder: GenerationTraceRecorder; generated: Float32Array; sampleCount: number; config: ModelConfig; modelPath: string; audioPath: string; tracePath?: string; pngPath?: string },
  io: CliIo,
): Promise<void> {
  const { recorder, config } = job;
  const record: TraceRecord = {
    clipPath: job.audioPath,
    modelPath: job.modelPath,
    config,
    sampleRateHz: config.sampleRateHz,
    startSample: 0,
    sampleCount: job.sampleCount,
    channels: innerWidth(config),
    hopSamples: recorder.hopSamples,
    windows: [{ runFromSample: 0, keepFromSample: 0, endSample: job.sampleCount }],
    peaks: computePeaks(job.generated, DEFAULT_WIDTH_PX),
    // A stopped run has fewer samples than planned; its rows past the end stay out of the file.
    layers: recorder.result().map((layer) => {
      const keep = Math.ceil(job.sampleCount / recorder.hopSamples) * layer.channels!;
      return { ...layer, delta: layer.delta.subarray(0, keep), gate: layer.gate.subarray(0, keep), stateNorm: layer.stateNorm.subarray(0, keep) };
    }),
  };
  if (job.tracePath !== undefined) {
    if (extname(job.tracePath).toLowerCase() === '.json') await writeTraceJson(job.tracePath, record);
    else await writeFileAtomically(job.tracePath, encodeTraceSafetensors(record));
    io.stderr(`traces: ${job.tracePath} (rows of ${countOf(recorder.hopSamples, 'sample')})\n`);
  }
  if (job.pngPath !== undefined) {
    const written = await writePng(job.pngPath, record, basename(job.audioPath), DEFAULT_WIDTH_PX);
    io.stderr(`heatmap: ${job.pngPath} (${written.width} x ${written.height} px), bands described in ${written.sidecar}\n`);
  }
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate audio from a model and write a WAV file',
  synopsis: '[options]',
  description:
    'Generates audio one sample at a time from the model\'s recurrent state, in constant memory\n' +
    'however long the output, and writes it as a WAV file at the model\'s sample rate. With\n' +
    '--prompt, the prompt clip is run through the model\'s parallel forward first and generation\n' +
    'continues from its state. The same --seed gives the same audio. --traces records the\n' +
    'selectivity of every layer (every block of a U-Net) as the model plays; without it\n' +
    'generation records nothing extra.',
  options: [
    { name: 'model', short: 'm', valueName: 'FILE', description: 'checkpoint (.safetensors) to use (default: the embedded default model)' },
    { name: 'out', short: 'o', valueName: 'FILE', description: 'WAV file to write (default generated.wav); with --streams N > 1, FILE-1.wav ...' },
    { name: 'seconds', short: 's', valueName: 'SEC', description: 'length of the generated audio in seconds (default 4)' },
    { name: 'temperature', short: 't', valueName: 'X', description: 'softmax temperature; 0 is greedy (default 1)' },
    { name: 'top-p', valueName: 'X', description: 'nucleus sampling mass in (0, 1]; 1 keeps every class (default 0.95)' },
    { name: 'seed', valueName: 'N', description: 'seed of the random draws, an integer 0..4294967295 (default 1)' },
    { name: 'prompt', valueName: 'CLIP', description: 'audio file to continue (its last --prompt-seconds are used)' },
    { name: 'prompt-seconds', valueName: 'SEC', description: 'seconds of the prompt to feed (default 2); what one parallel forward cannot hold is fed step by step' },
    { name: 'streams', valueName: 'N', description: 'independent streams generated in parallel (default 1)' },
    { name: 'include-prompt', description: 'write the prompt before the generated audio in the WAV file' },
    { name: 'traces', valueName: 'FILE', description: 'record delta, gate and state norm per layer while generating, into FILE.json or FILE.safetensors (the format of inspect --out); the first stream only' },
    { name: 'traces-png', valueName: 'FILE', description: 'also draw those traces under the generated waveform into FILE.png (the format of inspect --png)' },
    { name: 'trace-hop', valueName: 'SAMPLES', description: 'samples averaged into one trace row (default: 1, or more when the traces would exceed 16 Mi numbers)' },
  ],
  positionals: [],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    const modelPath = args.string('model') ?? DEFAULT_MODEL_PATH;
    if (!args.string('model') && !existsSync(modelPath)) {
      throw new UsageError(`no --model given and the default model ${modelPath} is missing; pass a checkpoint with --model`);
    }
    const seconds = args.number('seconds', { min: 0.001, max: 24 * 3600 }) ?? 4;
    const temperature = args.number('temperature', { min: 0, max: 100 }) ?? 1;
    const topP = args.number('top-p', { min: 1e-6, max: 1 }) ?? 0.95;
    const seed = args.number('seed', { integer: true, min: 0, max: 0xffffffff }) ?? 1;
    const streams = args.number('streams', { integer: true, min: 1, max: 256 }) ?? 1;
    const promptSeconds = args.number('prompt-seconds', { min: 0.001, max: 3600 }) ?? 2;
    const out = args.string('out') ?? 'generated.wav';
    requireOutputFolder(out, `--out ${out}`);
    const tracePath = args.string('traces');
    const tracePngPath = args.string('traces-png');
    if (tracePath !== undefined) requireOutputFolder(tracePath, `--traces ${tracePath}`);
    if (tracePngPath !== undefined) requireOutputFolder(tracePngPath, `--traces-png ${tracePngPath}`);
    if (tracePath !== undefined && !['.json', '.safetensors'].includes(extname(tracePath).toLowerCase())) {
      throw new UsageError(`--traces ${tracePath} must end in .json or .safetensors`);
    }
    if (tracePngPath !== undefined && extname(tracePngPath).toLowerCase() !== '.png') throw new UsageError(`--traces-png ${tracePngPath} must end in .png`);
    const traceHopOption = args.number('trace-hop', { integer: true, min: 1 });
    if (traceHopOption !== undefined && tracePath === undefined && tracePngPath === undefined) throw new UsageError('--trace-hop needs --traces or --traces-png');
    if (temperature < LOW_TEMPERATURE) {
      io.stderr(`warning: temperature ${temperature} is close to greedy decoding, which tends to collapse raw audio into silence or a drone\n`);
    }

    const checkpoint = await readCheckpointFile(modelPath);
    const { config } = checkpoint;
    if (config.encoding === 'tokens') throw new UsageError(`${modelPath} is a token model (vocabulary ${config.vocabSize}), not an audio model`);
    const quantization = config.encoding === 'linear' ? 'linear' : 'mu-law';
    const sampleRateHz = config.sampleRateHz;
    const total = Math.max(1, Math.round(seconds * sampleRateHz));

    let promptCodes: Uint8Array | null = null;
    const promptPath = args.string('prompt');
    if (promptPath) {
      const prepared = prepareCodes(await readAudioFile(promptPath), { sampleRateHz, quantization });
      for (const warning of prepared.warnings) io.stderr(`warning: ${basename(promptPath)}: ${warning}\n`);
      const keep = Math.min(prepared.codes.length, Math.round(promptSeconds * sampleRateHz));
      promptCodes = prepared.codes.subarray(prepared.codes.length - keep);
    }

    const ctx = await createNodeContext();
    const generator = createBackboneGenerator(ctx, config, checkpoint.params, { batch: streams });
    try {
      if (promptCodes) await readPrompt(ctx, checkpoint, generator, promptCodes, streams, io);
      else generator.reset();

      const recordTraces = tracePath !== undefined || tracePngPath !== undefined;
      const recorder = recordTraces ? new GenerationTraceRecorder(config, total, traceHopOption ?? defaultTraceHop(config, total), streams) : null;
      const outputs = Array.from({ length: streams }, () => new Uint8Array(total));
      const progress = new ProgressLine(io, process.stderr.isTTY === true);
      const started = performance.now();
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      let produced = 0;
      const result = await generator.generate({
        samples: total,
        temperature,
        topP,
        seed,
        chunkSamples: Math.min(total, Math.max(256, Math.round(sampleRateHz / 4))),
        signal: controller.signal,
        traces: recordTraces,
        onChunk: (codes: CodeArray[], startSample: number, traces?: ChunkTraces) => {
          codes.forEach((chunk, stream) => outputs[stream].set(chunk, startSample));
          if (recorder && traces) recorder.add(traces, startSample, codes[0].length);
          produced = startSample + codes[0].length;
          const elapsedSec = (performance.now() - started) / 1000;
          const rate = (produced * streams) / elapsedSec;
          progress.update(
            `${(produced / sampleRateHz).toFixed(1)} of ${seconds} s`,
            produced / total,
            `${Math.round(rate).toLocaleString('en-US')} samples/s (${(rate / sampleRateHz).toFixed(2)}x real time)  ETA ${formatDuration(((total - produced) * streams) / rate)}`,
          );
        },
      });
      process.off('SIGINT', onSigint);
      progress.done();

      const elapsedSec = (performance.now() - started) / 1000;
      for (let stream = 0; stream < streams; stream++) {
        const generated = decodeCodes(outputs[stream].subarray(0, result.samples), quantization);
        let samples = generated;
        if (promptCodes && args.flag('include-prompt')) {
          samples = new Float32Array(promptCodes.length + generated.length);
          samples.set(decodeCodes(promptCodes, quantization));
          samples.set(generated, promptCodes.length);
        }
        const path = streams === 1 ? out : out.replace(/(\.wav)?$/i, `-${stream + 1}.wav`);
        await writeFileAtomically(path, encodeWav([samples], sampleRateHz, 'pcm16').bytes);
        io.stdout(`${path}\n`);
      }
      if (recorder) {
        const generated = decodeCodes(outputs[0].subarray(0, result.samples), quantization);
        await writeGenerationTraces({ recorder, generated, sampleCount: result.samples, config, modelPath, audioPath: streams === 1 ? out : out.replace(/(\.wav)?$/i, '-1.wav'), tracePath, pngPath: tracePngPath }, io);
      }
      const rate = (result.samples * streams) / elapsedSec;
      io.stderr(
        `generated ${(result.samples / sampleRateHz).toFixed(2)} s x ${streams} stream(s)${result.aborted ? ' (stopped early)' : ''} in ${elapsedSec.toFixed(1)} s: ` +
          `${Math.round(rate).toLocaleString('en-US')} samples/s, ${(rate / sampleRateHz).toFixed(2)}x real time at ${sampleRateHz} Hz\n`,
      );
    } finally {
      generator.destroy();
      ctx.destroy();
    }
    return EXIT_OK;
  },
};
