import type { Lockfile } from './build-plan.ts';

/** How one package manager installs, builds, prunes and starts a Node app. */
export interface PackageManagerSteps {
  /** Named in the generated Dockerfile's header comment. */
  label: string;
  /** Runs through corepack (yarn, pnpm); the image must have it. */
  corepack: boolean;
  /** Files copied before the install, for layer caching. */
  manifests: string[];
  install: string;
  build: string;
  /** Removes devDependencies after the build; null when the manager has no built-in way. */
  prune: string | null;
  start: string[];
}

/**
 * The steps for the lockfile found. A `packageManager` field of `yarn@2+`
 * selects Yarn Berry's flags; anything else with a yarn.lock is Yarn 1.
 */
export function packageManagerSteps(lockfile: Lockfile | undefined, packageManager: string | undefined): PackageManagerSteps {
  switch (lockfile) {
    case 'yarn.lock':
      return isYarnBerry(packageManager) ? YARN_BERRY : YARN_CLASSIC;
    case 'pnpm-lock.yaml':
      return PNPM;
    case 'package-lock.json':
    case 'npm-shrinkwrap.json':
      return { ...NPM, label: `npm, ${lockfile}`, manifests: ['package.json', lockfile], install: NPM_CI };
    case undefined:
      return NPM;
  }
}

function isYarnBerry(packageManager: string | undefined): boolean {
  const major = /^yarn@(\d+)/.exec(packageManager ?? '')?.[1];
  return major !== undefined && Number(major) >= 2;
}

const NPM_CI = 'npm ci --include=dev && npm cache clean --force';

const NPM: PackageManagerSteps = {
  label: 'npm, no lockfile',
  corepack: false,
  manifests: ['package.json'],
  install: 'npm install --include=dev && npm cache clean --force',
  build: 'npm run build',
  prune: 'npm prune --omit=dev && npm cache clean --force',
  start: ['npm', 'start'],
};

const YARN_CLASSIC: PackageManagerSteps = {
  label: 'Yarn 1, yarn.lock',
  corepack: true,
  manifests: ['package.json', 'yarn.lock'],
  install: 'yarn install --frozen-lockfile --production=false && yarn cache clean',
  build: 'yarn run build',
  prune: 'yarn install --frozen-lockfile --production=true && yarn cache clean',
  start: ['yarn', 'start'],
};

const YARN_BERRY: PackageManagerSteps = {
  label: 'Yarn 2+, yarn.lock',
  corepack: true,
  manifests: ['package.json', 'yarn.lock'],
  install: 'yarn install --immutable',
  build: 'yarn run build',
  prune: null,
  start: ['yarn', 'start'],
};

const PNPM: PackageManagerSteps = {
  label: 'pnpm, pnpm-lock.yaml',
  corepack: true,
  manifests: ['package.json', 'pnpm-lock.yaml'],
  install: 'pnpm install --frozen-lockfile',
  build: 'pnpm run build',
  prune: 'pnpm prune --prod',
  start: ['pnpm', 'start'],
};
