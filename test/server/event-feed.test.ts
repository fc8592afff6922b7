import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FleetStore } from '../../src/fleet/store/store.js';
import { EventFeed } from '../../src/server/event-feed.js';

test('EventFeed.onClose: a stream that ended removes its listener, so closing the feed no longer reaches (or holds) it', () => {
  const feed = new EventFeed({} as FleetStore);
  const called: string[] = [];
  const offEnded = feed.onClose(() => called.push('ended'));
  feed.onClose(() => called.push('open'));
  offEnded();
  feed.close();
  assert.deepEqual(called, ['open']);
});
