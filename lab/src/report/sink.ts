// The one thing the text reporters need from a stream, so tests can pass a plain object and
// colour can follow the real destination (a pipe gets no escape codes).
export interface TextSink {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  /** Terminal width, when known; the live line is cut to fit so it never wraps. */
  readonly columns?: number;
}
