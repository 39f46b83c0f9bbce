import { ValidationError } from '@pier/core';

/** The uid:gid generated images run as; needs no user database in the image. */
export const APP_USER = '10001:10001';

/** Where the app lives in generated images. */
export const APP_DIRECTORY = '/app';

const HOME_DIRECTORY = '/home/pier';

/** An image reference such as `pier-local/node`, `node:20-bookworm` or `host:5000/x/y@sha256:…`. */
const IMAGE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/;

// C0 and C1 control characters (tab allowed), DEL, and the Unicode line and paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;

/** Throws a ValidationError naming `field` unless `image` is a plain image reference. */
export function assertImage(field: string, image: string): string {
  if (!IMAGE_PATTERN.test(image)) throw new ValidationError(`${field}: not a valid image reference`, field);
  return image;
}

/** Throws a ValidationError naming `field` if `text` holds a control character (a tab is allowed). */
export function assertNoControlCharacters(field: string, what: string, text: string): string {
  if (CONTROL_CHARACTERS.test(text)) throw new ValidationError(`${what} contains a control character`, field);
  return text;
}

/** An exec-form instruction, e.g. `CMD ["npm", "start"]`: JSON-escaped, so no value can break out of it. */
export function execForm(instruction: 'CMD' | 'RUN', argv: readonly string[]): string {
  return `${instruction} [${argv.map((arg) => JSON.stringify(arg)).join(', ')}]`;
}

/** A Procfile command line: run by `/bin/sh -c`, as Procfile commands are shell command lines by definition. */
export function shellCommand(command: string): string[] {
  return ['/bin/sh', '-c', command];
}

/** The lines every generated Dockerfile starts with: base image, working directory, a home for the app user. */
export function preamble(comment: string, image: string): string[] {
  return [
    `# ${comment}`,
    `FROM ${image}`,
    `WORKDIR ${APP_DIRECTORY}`,
    `RUN mkdir -p ${HOME_DIRECTORY} && chown ${APP_USER} ${APP_DIRECTORY} ${HOME_DIRECTORY}`,
  ];
}

/** Switches to the unprivileged app user. */
export function becomeAppUser(): string[] {
  return [`USER ${APP_USER}`, `ENV HOME=${HOME_DIRECTORY}`];
}

/** `COPY` owned by the app user. */
export function copyAsAppUser(sources: readonly string[], destination: string): string {
  return `COPY --chown=${APP_USER} ${sources.join(' ')} ${destination}`;
}

/** Joins lines into Dockerfile text with a trailing newline. */
export function dockerfileText(lines: readonly string[]): string {
  return `${lines.join('\n')}\n`;
}
