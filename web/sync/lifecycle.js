// Allowed ticket moves computed from the server's own declaration (the `ticketRules` query,
// cached by the engine): transitions, which standing grants which moves and the facts each
// standing needs. The rules are data from the server; this file only knows what each fact
// means for a ticket record of the sync protocol.

/**
 * @typedef {{memberId: string|null, readOnly: boolean, dispatcher: boolean, liaison: boolean,
 *            allGrids: boolean, gridIds: string[]}} Caller
 * @typedef {{statuses: string[], open: string[], transitions: Record<string, string[]>,
 *            standings: Record<string, string[][]>, movesByStanding: Record<string, string[]>,
 *            needsAssignee: string[], needsNote: string[], caller: Caller}} TicketRules
 */

/** @type {Record<string, (c: Caller, t: any) => boolean>} */
const FACTS = {
  assignee: (c, t) => c.memberId != null && t.assigneeId === c.memberId,
  reporter: (c, t) => c.memberId != null && t.reporterId === c.memberId,
  dispatcher: (c) => c.dispatcher,
  liaison: (c) => c.liaison,
  inGrid: (c, t) => c.allGrids || c.gridIds.includes(t.gridId),
  unassigned: (_c, t) => t.assigneeId == null,
};

/**
 * @param {TicketRules} rules
 * @param {{status: string, assigneeId?: string|null, reporterId?: string|null, gridId: string}} ticket
 * @returns {string[]} the statuses the caller may move the ticket to, in lifecycle order
 */
export function allowedMoves(rules, ticket) {
  const caller = rules.caller;
  if (caller.readOnly) return [];
  const fact = (name) => {
    const test = FACTS[name];
    if (!test) throw new Error(`unknown lifecycle fact ${name}: update the app`);
    return test(caller, ticket);
  };
  const granted = new Set();
  for (const [standing, alternatives] of Object.entries(rules.standings)) {
    if (alternatives.some((facts) => facts.every(fact))) {
      for (const move of rules.movesByStanding[standing] || []) granted.add(move);
    }
  }
  const next = rules.transitions[ticket.status] || [];
  return rules.statuses.filter(
    (s) =>
      next.includes(s) &&
      granted.has(s) &&
      !(rules.needsAssignee.includes(s) && ticket.assigneeId == null),
  );
}

/** @param {TicketRules} rules @param {string} status */
export function needsNote(rules, status) {
  return rules.needsNote.includes(status);
}

/** @param {TicketRules} rules @param {string} status */
export function isOpen(rules, status) {
  return rules.open.includes(status);
}
