import { LABEL_APP, LABEL_ROLE, ROLE_BUILD_STAGE, ValidationError } from '@pier/core';
import { BUILD_CA_FILE } from './registry-settings.ts';

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

/** Where the CA bundle of generated builds is copied in their install stage (never in the final one). */
export const BUILD_CA_PATH = '/etc/ssl/pier-build-ca.crt';

/** The stage of a two-stage generated Dockerfile that installs dependencies; the final stage copies its result. */
export const INSTALL_STAGE = 'install';

/** The build arg a generated build passes the app's name in, for its install stage's label. */
export const APP_BUILD_ARG = 'PIER_APP';

/**
 * The first lines of a two-stage generated Dockerfile's install stage. The
 * classic builder keeps each stage's images, untagged, and the build's labels
 * reach only the final one: this stage labels itself as the app's build stage
 * (from APP_BUILD_ARG) before anything else, so every image of it, including
 * what a failed build leaves, is one pruning and app deletion find.
 */
export function installStageStart(image: string): string[] {
  return stageStart(image, INSTALL_STAGE, [
    `ARG ${APP_BUILD_ARG}`,
    `LABEL ${LABEL_APP}="$${APP_BUILD_ARG}" ${LABEL_ROLE}=${ROLE_BUILD_STAGE}`,
  ]);
}

/** The lines every generated Dockerfile starts with: base image, working directory, a home for the app user. */
export function preamble(comment: string, image: string): string[] {
  return [`# ${comment}`, ...stageStart(image)];
}

/**
 * The first lines of a stage (named when `name` is given): base image, then
 * `first` (if any), working directory, a home for the app user.
 */
export function stageStart(image: string, name?: string, first: readonly string[] = []): string[] {
  return [
    name === undefined ? `FROM ${image}` : `FROM ${image} AS ${name}`,
    ...first,
    `WORKDIR ${APP_DIRECTORY}`,
    `RUN mkdir -p ${HOME_DIRECTORY} && chown ${APP_USER} ${APP_DIRECTORY} ${HOME_DIRECTORY}`,
  ];
}

/**
 * The install stage's CA bundle (copied as root from BUILD_CA_FILE, which
 * Pier writes into the context) and registry args: `env` names the variables
 * that point the tools at the bundle. Nothing of this reaches the final stage.
 */
export function registryLines(caBundle: boolean, env: readonly string[], args: readonly string[]): string[] {
  return [
    ...(caBundle
      ? [`COPY ${BUILD_CA_FILE} ${BUILD_CA_PATH}`, `ENV ${env.map((name) => `${name}=${BUILD_CA_PATH}`).join(' ')}`]
      : []),
    ...args.map((name) => `ARG ${name}`),
  ];
}

/** The copy of the CA bundle that `COPY . .` put into the app directory is removed before the final stage copies it. */
export function removeCaCopy(caBundle: boolean): string[] {
  return caBundle ? [`RUN rm -f ${APP_DIRECTORY}/${BUILD_CA_FILE}`] : [];
}

/** The build command (`pier.json` `build.command`, or a default such as Django's collectstatic): run by `/bin/sh -c`. */
export function buildCommandLines(command: string | undefined): string[] {
  return command === undefined ? [] : [execForm('RUN', shellCommand(command))];
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
