// @mig/block: block migration (the `block` section, bulk and dirty phases, incremental, zero blocks) is the
// subject of a later issue. Until then this package is an empty placeholder in the workspace layout, and
// mig-daemon answers `migrate` with blk/inc by saying block migration is not supported yet.
export {};
