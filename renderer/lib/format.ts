// Number formatting for labels and readouts.

/** Formats seconds as `m:ss.cc` (or `h:mm:ss` from an hour on); negative or NaN gives `–`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds >= 3600) {
    const whole = Math.floor(seconds);
    const hours = Math.floor(whole / 3600);
    const minutes = Math.floor((whole % 3600) / 60);
    return `${hours}:${String(minutes).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
  }
  const centiseconds = Math.round(seconds * 100);
  const minutes = Math.floor(centiseconds / 6000);
  const rest = (centiseconds % 6000) / 100;
  return `${minutes}:${rest.toFixed(2).padStart(5, '0')}`;
}

/** Formats an estimated remaining time coarsely: `45 s`, `3 min 20 s`, `2 h 5 min`. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

/** Formats a sample rate: `16 kHz`, `44.1 kHz`, `8000 Hz` stays `8 kHz`. */
export function formatRate(sampleRateHz: number): string {
  if (!Number.isFinite(sampleRateHz) || sampleRateHz <= 0) return '–';
  if (sampleRateHz >= 1000) return `${Number((sampleRateHz / 1000).toFixed(3))} kHz`;
  return `${sampleRateHz} Hz`;
}

/** Describes a model's shape: `4 layers · D 64`, or `U-Net 4×4 · 10 blocks · D 64` for a SaShiMi model. */
export function formatModelShape(model: { backbone: 'flat' | 'sashimi'; poolFactors: number[]; layers: number; modelWidth: number }): string {
  if (model.backbone === 'sashimi') return `U-Net ${model.poolFactors.join('×') || 'without pooling'} · ${model.layers} blocks · D ${model.modelWidth}`;
  return `${model.layers} layers · D ${model.modelWidth}`;
}

export function formatChannels(channelCount: number): string {
  if (channelCount === 1) return 'mono';
  if (channelCount === 2) return 'stereo';
  return `${channelCount} channels`;
}

/** Formats a count with thousands separators and SI suffixes from a million on: `12,345`, `3.2 M`. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 1e9) return `${(value / 1e9).toFixed(1)} G`;
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(1)} M`;
  return Math.round(value).toLocaleString('en-US');
}

/** Formats a loss value with four significant digits. */
export function formatLoss(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toPrecision(4);
}
