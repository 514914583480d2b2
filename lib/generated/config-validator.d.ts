// Types of the generated config-validator.js.
export { default } from "./validator";
