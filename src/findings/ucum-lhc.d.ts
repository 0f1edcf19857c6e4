// @lhncbc/ucum-lhc ships no typings; src/findings/units.ts narrows the part it uses.
declare module '@lhncbc/ucum-lhc' {
  const ucum: unknown;
  export default ucum;
}
