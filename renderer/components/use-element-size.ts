// Tracks an element's content-box size in CSS pixels with a ResizeObserver.

import { useEffect, useState, type RefObject } from 'react';

export interface ElementSize {
  widthPx: number;
  heightPx: number;
}

export function useElementSize(ref: RefObject<HTMLElement | null>): ElementSize {
  const [size, setSize] = useState<ElementSize>({ widthPx: 0, heightPx: 0 });
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = (): void => {
      const { width, height } = element.getBoundingClientRect();
      setSize((previous) =>
        previous.widthPx === Math.round(width) && previous.heightPx === Math.round(height)
          ? previous
          : { widthPx: Math.round(width), heightPx: Math.round(height) },
      );
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return size;
}
