// A labelled number input that reports only valid values; invalid text is kept and flagged.

import { useId, useState } from 'react';

export interface NumberFieldProps {
  label: string;
  value: number;
  onChange(value: number): void;
  min?: number;
  max?: number;
  step?: number;
  /** Unit shown after the input, e.g. `s`. */
  unit?: string;
  integer?: boolean;
  disabled?: boolean;
  help?: string;
  testId?: string;
}

export function NumberField({ label, value, onChange, min, max, step, unit, integer, disabled, help, testId }: NumberFieldProps) {
  const id = useId();
  const [text, setText] = useState(String(value));
  const [shownValue, setShownValue] = useState(value);

  // A change of `value` from outside (a project was opened) replaces the text; typing,
  // which reports values through onChange, does not.
  if (value !== shownValue) {
    setShownValue(value);
    if (Number(text) !== value) setText(String(value));
  }

  const parse = (candidate: string): number | null => {
    const parsed = Number(candidate);
    const ok =
      candidate.trim() !== '' &&
      Number.isFinite(parsed) &&
      (!integer || Number.isInteger(parsed)) &&
      (min === undefined || parsed >= min) &&
      (max === undefined || parsed <= max);
    return ok ? parsed : null;
  };
  const valid = parse(text) !== null;

  return (
    <label className={`field${valid ? '' : ' field-invalid'}`} htmlFor={id} title={help}>
      <span className="field-label">{label}</span>
      <span className="field-input">
        <input
          id={id}
          type="number"
          inputMode="decimal"
          value={text}
          min={min}
          max={max}
          step={step ?? (integer ? 1 : 'any')}
          disabled={disabled}
          data-testid={testId}
          aria-invalid={!valid}
          onChange={(event) => {
            setText(event.target.value);
            const next = parse(event.target.value);
            if (next !== null) {
              setShownValue(next);
              onChange(next);
            }
          }}
        />
        {unit && <span className="field-unit">{unit}</span>}
      </span>
    </label>
  );
}
