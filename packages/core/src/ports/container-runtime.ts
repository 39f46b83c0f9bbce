/** Labels on everything Pier creates in Docker; only labelled objects are ever listed, pruned or removed. */
export const LABEL_APP = 'pier.app';
export const LABEL_ENV = 'pier.env';
export const LABEL_RELEASE = 'pier.release';
export const LABEL_ROLE = 'pier.role';
export const LABEL_DEPLOYMENT = 'pier.deployment';
export const LABEL_COMMIT = 'pier.commit';

export interface BuildRequest {
  /** Directory whose files are the build context. */
  contextDirectory: string;
  /** Dockerfile path relative to the context. */
  dockerfile: string;
  /** Tag to apply, e.g. `pier/web:<sha>`. */
  tag: string;
  labels: Record<string, string>;
  /** Memory limit of build containers, bytes. */
  memoryBytes: number;
  /** The build is stopped and fails after this long. */
  timeoutMs: number;
}

export interface BuiltImage {
  /** Content-addressed id, `sha256:…`. */
  imageId: string;
  tag: string;
}

export interface ImageSummary {
  imageId: string;
  tags: string[];
  labels: Record<string, string>;
  createdAt: Date;
  sizeBytes: number;
}

/**
 * Port: the container engine. Contract:
 * - `buildImage` streams each output line to `onLine` as it arrives, rejects
 *   with a BuildError carrying the last lines when the build fails, times out
 *   or `signal` aborts, and leaves no build containers behind.
 * - `listImages` returns only images carrying every label in `labels`.
 * - `removeImage` removes by id and ignores an image already gone; it refuses
 *   images without the `pier.app` label.
 * - `freeDiskBytes` is the free space where the engine stores images.
 */
export interface ContainerRuntime {
  buildImage(request: BuildRequest, onLine: (line: string) => void, signal?: AbortSignal): Promise<BuiltImage>;
  listImages(labels: Record<string, string>): Promise<ImageSummary[]>;
  removeImage(imageId: string): Promise<void>;
  freeDiskBytes(): Promise<number>;
}
