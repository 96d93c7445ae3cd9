/** D7: unsubscribe tokens cannot be forged or moved to another contact, workspace or email. */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  parseUnsubscribeToken,
  unsubscribeToken,
  unsubscribeUrl,
  verifyUnsubscribeToken,
} from '../../email/unsubscribe.js';

const SECRET = 'unit-test-unsubscribe-secret-0123456789';
const subject = () => ({ workspaceId: randomUUID(), contactId: randomUUID(), deliveryId: randomUUID() });

test('D7: a token verifies for its own contact, workspace and email, and for nothing else', () => {
  const mine = subject();
  const token = unsubscribeToken(SECRET, mine);
  expect(parseUnsubscribeToken(token)).toEqual({ contactId: mine.contactId, deliveryId: mine.deliveryId });
  expect(verifyUnsubscribeToken(SECRET, token, mine)).toBe(true);
  expect(verifyUnsubscribeToken('another-secret-of-sufficient-length-000', token, mine)).toBe(false);
  expect(verifyUnsubscribeToken(SECRET, token, { ...mine, workspaceId: randomUUID() })).toBe(false);
  expect(verifyUnsubscribeToken(SECRET, token, { ...mine, contactId: randomUUID() })).toBe(false);
  expect(verifyUnsubscribeToken(SECRET, token, { ...mine, deliveryId: null })).toBe(false);
});

test('D7: a preview token names no email, and links are short', () => {
  const preview = { ...subject(), deliveryId: null };
  const token = unsubscribeToken(SECRET, preview);
  expect(parseUnsubscribeToken(token)).toEqual({ contactId: preview.contactId, deliveryId: null });
  expect(verifyUnsubscribeToken(SECRET, token, preview)).toBe(true);
  expect(unsubscribeToken(SECRET, subject()).length).toBeLessThanOrEqual(68);
  expect(unsubscribeUrl('https://n.example/', SECRET, preview)).toBe(
    `https://n.example/unsubscribe/${token}`,
  );
});

test('D7: changing any character of a token makes it invalid', () => {
  const mine = subject();
  const token = unsubscribeToken(SECRET, mine);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
  fc.assert(
    fc.property(fc.nat(token.length - 1), fc.constantFrom(...alphabet), (index, char) => {
      fc.pre(token[index] !== char);
      const altered = `${token.slice(0, index)}${char}${token.slice(index + 1)}`;
      const claimed = parseUnsubscribeToken(altered);
      const target = claimed ? { workspaceId: mine.workspaceId, ...claimed } : mine;
      expect(verifyUnsubscribeToken(SECRET, altered, target)).toBe(false);
    }),
    { numRuns: 500 },
  );
});
