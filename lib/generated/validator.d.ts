// The type of every generated validator (lib/generated/*-validator.js).
import type { ValidateFunction } from "ajv";

declare const validate: ValidateFunction;
export default validate;
