// Learning-rate schedule: linear warm-up from 0, then cosine decay to minLr at the last step.
export interface LrSchedule {
  peakLr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

export function learningRate(schedule: LrSchedule, step: number): number {
  const { peakLr, minLr, warmupSteps, totalSteps } = schedule;
  if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
  if (totalSteps <= warmupSteps) return peakLr;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
}
