export * from './build-plan.ts';
export { detectBuild, NOTHING_TO_BUILD, planBuildArgs } from './detect-build.ts';
export { APP_USER } from './dockerfile-text.ts';
export { parseProcfile, webCommand } from './procfile.ts';
export { BUILD_CA_FILE, type BuildRegistrySettings, registryBuildArgs, registryCredentials } from './registry-settings.ts';
export { versionedRepository } from './runtime-version.ts';
export { LOCKFILES, readBuildSnapshot, readRepositoryFile, repositoryFolder, SNAPSHOT_FILE_MAX_BYTES } from './snapshot.ts';
