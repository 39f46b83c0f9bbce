import { describe, expect, it } from 'vitest';
import { deployedText } from './commands/deploy.ts';
import { duration, firstLine, progressText, stepText } from './deployment-progress.ts';

describe('stepText', () => {
  it('shows the change and the first line of its message, made safe to print', () => {
    expect(stepText({ from: null, to: 'queued', message: 'queued by manual', at: '' })).toBe('→ queued: queued by manual');
    expect(stepText({ from: 'building', to: 'deploying', message: null, at: '' })).toBe('building → deploying');
    const failure = 'release v3 did not pass\u001b[31m its health check\nlast health responses: 500';
    expect(stepText({ from: 'deploying', to: 'failed', message: failure, at: '' })).toBe(
      'deploying → failed: release v3 did not pass its health check',
    );
  });

  it('firstLine is empty for no message', () => {
    expect(firstLine(null)).toBe('');
    expect(firstLine('  \n')).toBe('');
  });
});

describe('progressText', () => {
  it('shows a spinner frame, the state and whole seconds', () => {
    expect(progressText('waiting_for_checks', 12_900, 0)).toBe('⠋ waiting for checks 12s');
    expect(progressText('deploying', 0, 11)).toBe('⠙ deploying 0s');
  });
});

describe('duration', () => {
  it.each([
    ['2026-05-01T12:00:00Z', '2026-05-01T12:00:14.4Z', '14s'],
    ['2026-05-01T12:00:00Z', '2026-05-01T12:03:05Z', '3m 05s'],
    ['2026-05-01T12:00:00Z', null, ''],
  ])('%s → %s is %j', (from, to, text) => {
    expect(duration(from, to)).toBe(text);
  });
});

describe('deployedText', () => {
  const sha = '312b88d6dcf26237962d6d552fcf5fc8af877ddc';
  it.each([
    [{ ref: 'refs/heads/main', commit: sha, prebuiltImage: null }, 'main@312b88d'],
    [{ ref: 'refs/tags/v1.2', commit: null, prebuiltImage: null }, 'v1.2'],
    [{ ref: null, commit: sha, prebuiltImage: null }, '312b88d'],
    [{ ref: null, commit: null, prebuiltImage: 'ghcr.io/acme/web:1.4' }, 'ghcr.io/acme/web:1.4'],
  ])('%j → %s', (deployment, text) => {
    expect(deployedText(deployment)).toBe(text);
  });
});
