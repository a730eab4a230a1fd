/** Who this window is to the others: a name and a colour, carried in presence. */
export interface Identity {
  name: string;
  color: string;
}

const NAMES = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Ken', 'Radia', 'Linus', 'Frances'];
const COLORS = ['#e8590c', '#2f9e44', '#1971c2', '#9c36b5', '#c2255c', '#0c8599', '#e67700'];

/** `?name=` when given (tests, screenshots), else a name picked at random for this tab. */
export function pickIdentity(params: URLSearchParams, random: () => number): Identity {
  const given = params.get('name')?.trim().slice(0, 32);
  const name = given || `${NAMES[Math.floor(random() * NAMES.length)] ?? 'Guest'}`;
  return { name, color: colorOf(name + random().toString(36)) };
}

/** A colour from the palette, the same for the same key in every window. */
export function colorOf(key: string): string {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) | 0;
  return COLORS[Math.abs(hash) % COLORS.length] ?? '#1971c2';
}
