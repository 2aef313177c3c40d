// QEMU's "-opt key=value,key=value" syntax, with QEMU's ",," escape for a literal comma.
export interface OptionList {
  /** The value given without a key (e.g. `none` in `-machine none,memory-backend=m0`). */
  implied?: string;
  props: Map<string, string>;
}

export function parseOptionList(text: string, impliedKey?: string): OptionList {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === ',' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (ch === ',') {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  const list: OptionList = { props: new Map() };
  parts.forEach((part, index) => {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (index === 0 && impliedKey !== undefined) list.implied = part;
      else list.props.set(part, 'on');
    } else {
      list.props.set(part.slice(0, eq), part.slice(eq + 1));
    }
  });
  if (impliedKey !== undefined && list.implied === undefined && list.props.has(impliedKey)) {
    list.implied = list.props.get(impliedKey);
    list.props.delete(impliedKey);
  }
  return list;
}
