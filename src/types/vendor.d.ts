// The few packages without their own type declarations, typed as far as this project uses them.
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decode(buffer: ArrayBuffer, offset: number, length: number, bytesPerSample?: number): ArrayBuffer;
  }
}
declare module '@cornerstonejs/codec-openjpeg/wasmjs' {
  const factory: () => Promise<unknown>;
  export default factory;
}
declare module '@cornerstonejs/codec-charls/wasmjs' {
  const factory: () => Promise<unknown>;
  export default factory;
}
