// Text files embedded in the binary by the bundler (`import x from "..." with { type: "text" }`).
declare module "*.service" {
  const text: string;
  export default text;
}
declare module "*.timer" {
  const text: string;
  export default text;
}
declare module "*.socket" {
  const text: string;
  export default text;
}
