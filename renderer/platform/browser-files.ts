// File picking and downloading with plain DOM APIs, for the web build.

/**
 * Shows the browser's file picker through a hidden `<input type=file>` that stays in the
 * document and is reused. Resolves with [] when the user cancels.
 */
export function pickFiles(accept: string, multiple: boolean): Promise<File[]> {
  let input = document.querySelector<HTMLInputElement>('input[data-role="platform-file-input"]');
  if (!input) {
    input = document.createElement('input');
    input.type = 'file';
    input.dataset.role = 'platform-file-input';
    input.hidden = true;
    document.body.append(input);
  }
  const picker = input;
  picker.accept = accept;
  picker.multiple = multiple;
  // Clearing the value lets the same file be picked twice in a row.
  picker.value = '';

  return new Promise((resolve) => {
    const finish = (files: File[]): void => {
      picker.removeEventListener('change', onChange);
      picker.removeEventListener('cancel', onCancel);
      resolve(files);
    };
    const onChange = (): void => finish([...(picker.files ?? [])]);
    const onCancel = (): void => finish([]);
    picker.addEventListener('change', onChange);
    picker.addEventListener('cancel', onCancel);
    picker.click();
  });
}

/** Starts a download of `bytes` through a temporary object URL. */
export function downloadBytes(fileName: string, bytes: Uint8Array, mimeType: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mimeType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken its own reference by the time this runs; a minute is generous.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
