import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.ts';

describe('GroupCommit', () => {
  it('commits what arrives in one turn together, and resolves each caller after its commit', async () => {
    const commits: number[][] = [];
    const g = new GroupCommit<number>((items) => commits.push(items));
    await Promise.all([g.add(1), g.add(2), g.add(3)]);
    expect(commits).toEqual([[1, 2, 3]]);
  });

  it('lets writes nobody waits on gather for withinMs, and an urgent write takes them along at once', async () => {
    const commits: number[][] = [];
    const g = new GroupCommit<number>((items) => commits.push(items));
    const polled: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      polled.push(g.add(i, 50));
      await new Promise((r) => setImmediate(r));
    }
    expect(commits).toEqual([]); // five turns, no commit yet
    await Promise.all(polled);
    expect(commits).toEqual([[0, 1, 2, 3, 4]]);
    const more = g.add(10, 10_000);
    await g.add(11); // a sensor's message: committed in the next turn, with what was waiting
    await more;
    expect(commits).toEqual([[0, 1, 2, 3, 4], [10, 11]]);
  });

  it('rejects every caller of a failed commit', async () => {
    const g = new GroupCommit<number>(() => {
      throw new Error('disk full');
    });
    await expect(Promise.all([g.add(1, 5), g.add(2)])).rejects.toThrow('disk full');
  });
});
