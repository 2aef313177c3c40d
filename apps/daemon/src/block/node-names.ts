// QEMU-style automatic node names (`#block` + a counter + two digits) for drives given without node-name=.
// QEMU counts every node it opens (the file node, then the format node, then the backing chain's) and adds
// two random digits; mig counts the same way and takes the digits from the drive id, so one command line
// always gives the same names.

export class NodeNames {
  #counter = 0;

  /**
   * The format node's name for drive `id` with `backingDepth` images below it. The file node (`#block<n>`)
   * comes first; the backing images' nodes come after the drive's own, as QEMU opens them.
   */
  next(id: string, backingDepth: number): string {
    this.#counter++; // the file node under the format node
    const name = `#block${this.#counter}${twoDigits(id)}`;
    this.#counter += 1 + 2 * backingDepth;
    return name;
  }
}

/** 00..99 from the id (FNV-1a), fixed for an id. */
function twoDigits(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return String((h >>> 0) % 100).padStart(2, '0');
}
