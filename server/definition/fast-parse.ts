/**
 * A parser for the plain subset of JSONata most board expressions are written in: field paths,
 * literals, arithmetic, comparison, `&`, `and`/`or`, `?:`, parentheses and `$function(…)` calls.
 * JSONata's own parser rebuilds its symbol table on every call (0.1–0.3 ms even for `event.id`),
 * which dominates compiling a large board. This one follows the same tokenizer rules and Pratt
 * binding powers and returns the AST JSONata would (a property test compares them); anything
 * outside the subset, including every syntax error, returns undefined and goes to JSONata.
 */
import type { ExpressionNode } from "./expressions.ts";

interface Token {
  kind: "name" | "variable" | "number" | "string" | "value" | "operator" | "end";
  value: unknown;
  /** JSONata's token position: the offset just after the token. */
  position: number;
}

const operatorChars = new Set(".[]{}(),@#;:?+-*/%|=<>^&!~".split(""));
const isWhitespace = (char: string) => char === " " || char === "\t" || char === "\n" || char === "\r" || char === "\v";
const isDigit = (char: string) => char >= "0" && char <= "9";
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
const numberPattern = /^(0|([1-9][0-9]*))(\.[0-9]+)?([Ee][-+]?[0-9]+)?/;
const bindingPower: Record<string, number> = {
  ".": 75,
  "(": 80,
  "?": 20,
  "+": 50,
  "-": 50,
  "*": 60,
  "/": 60,
  "%": 60,
  "=": 40,
  "<": 40,
  ">": 40,
  "!=": 40,
  "<=": 40,
  ">=": 40,
  "&": 50,
  and: 30,
  or: 25,
  ")": 0,
  ",": 0,
  ":": 0,
};
const supportedSingle = new Set(".(),:?+-*/%=<>&");
const endsOperand = (token: Token | undefined) =>
  token !== undefined && (token.kind !== "operator" || token.value === ")") && token.kind !== "end";

function tokenize(source: string): Token[] | undefined {
  const tokens: Token[] = [];
  let position = 0;
  const length = source.length;
  while (true) {
    while (position < length && isWhitespace(source.charAt(position))) position++;
    if (position >= length) break;
    const char = source.charAt(position);
    const next = source.charAt(position + 1);
    if (char === "/" && next === "*") return undefined;
    if (char === "/" && !endsOperand(tokens.at(-1))) return undefined; // a regex literal
    if ((char === "!" || char === "<" || char === ">") && next === "=") {
      position += 2;
      tokens.push({ kind: "operator", value: `${char}=`, position });
      continue;
    }
    if (operatorChars.has(char)) {
      const pair = char + next;
      if (pair === ".." || pair === ":=" || pair === "**" || pair === "~>" || pair === "?:" || pair === "??" || !supportedSingle.has(char)) return undefined;
      position++;
      tokens.push({ kind: "operator", value: char, position });
      continue;
    }
    if (char === '"' || char === "'") {
      const end = source.indexOf(char, position + 1);
      if (end < 0) return undefined;
      const text = source.slice(position + 1, end);
      if (text.includes("\\")) return undefined;
      position = end + 1;
      tokens.push({ kind: "string", value: text, position });
      continue;
    }
    const number = isDigit(char) ? numberPattern.exec(source.slice(position, position + 40)) : null;
    if (number) {
      const value = Number.parseFloat(number[0]);
      if (!Number.isFinite(value)) return undefined;
      position += number[0].length;
      tokens.push({ kind: "number", value, position });
      continue;
    }
    if (char === "`") return undefined;
    let end = position;
    while (end < length && !isWhitespace(source.charAt(end)) && !operatorChars.has(source.charAt(end))) end++;
    const word = source.slice(position, end);
    position = end;
    if (word.startsWith("$")) {
      if (!identifier.test(word.slice(1))) return undefined;
      tokens.push({ kind: "variable", value: word.slice(1), position });
    } else if (word === "and" || word === "or") {
      tokens.push({ kind: "operator", value: word, position });
    } else if (word === "true" || word === "false" || word === "null") {
      tokens.push({ kind: "value", value: word === "null" ? null : word === "true", position });
    } else if (identifier.test(word) && word !== "in" && word !== "function") {
      tokens.push({ kind: "name", value: word, position });
    } else {
      return undefined;
    }
  }
  tokens.push({ kind: "end", value: null, position: length });
  return tokens;
}

/** Thrown inside the parser when the input leaves the subset; never escapes `fastParse`. */
class OutsideSubset extends Error {}

class SubsetParser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }
  private take(): Token {
    return this.tokens[this.index++] as Token;
  }
  private expect(value: string): void {
    const token = this.take();
    if (token.kind !== "operator" || token.value !== value) throw new OutsideSubset();
  }
  private leftBindingPower(token: Token): number {
    if (token.kind === "end") return 0;
    if (token.kind !== "operator") return 0;
    const power = bindingPower[String(token.value)];
    if (power === undefined) throw new OutsideSubset();
    return power;
  }

  parse(): ExpressionNode {
    const ast = this.expression(0);
    if (this.peek().kind !== "end") throw new OutsideSubset();
    return ast;
  }

  private expression(rbp: number): ExpressionNode {
    let left = this.prefix(this.take());
    while (rbp < this.leftBindingPower(this.peek())) left = this.infix(this.take(), left);
    return left;
  }

  private prefix(token: Token): ExpressionNode {
    switch (token.kind) {
      case "name":
        return { type: "path", steps: [{ value: token.value, type: "name", position: token.position }] };
      case "variable":
        if (this.peek().value !== "(" || this.peek().kind !== "operator") throw new OutsideSubset();
        return { value: token.value, type: "variable", position: token.position };
      case "number":
      case "string":
      case "value":
        return { value: token.value, type: token.kind, position: token.position };
      case "operator":
        if (token.value === "(") {
          const inner = this.expression(0);
          this.expect(")");
          return { type: "block", position: token.position, expressions: [inner] };
        }
        if (token.value === "-") {
          const operand = this.expression(70);
          if (operand.type === "number") return { ...operand, value: -(operand.value as number) };
          return { type: "unary", value: "-", position: token.position, expression: operand };
        }
        throw new OutsideSubset();
      case "end":
        throw new OutsideSubset();
      default: {
        const unreachable: never = token.kind;
        return unreachable;
      }
    }
  }

  private infix(operator: Token, left: ExpressionNode): ExpressionNode {
    const value = String(operator.value);
    switch (value) {
      case ".": {
        const right = this.expression(75);
        if (left.type !== "path" || right.type !== "path") throw new OutsideSubset();
        return { type: "path", steps: [...(left.steps ?? []), ...(right.steps ?? [])] };
      }
      case "(": {
        if (left.type !== "variable") throw new OutsideSubset();
        const args: ExpressionNode[] = [];
        if (!(this.peek().kind === "operator" && this.peek().value === ")")) {
          while (true) {
            if (this.peek().kind === "operator" && this.peek().value === "?") throw new OutsideSubset();
            args.push(this.expression(0));
            if (!(this.peek().kind === "operator" && this.peek().value === ",")) break;
            this.take();
          }
        }
        this.expect(")");
        return { type: "function", value: "(", position: operator.position, arguments: args, procedure: left };
      }
      case "?": {
        const then = this.expression(0);
        if (this.peek().kind === "operator" && this.peek().value === ":") {
          this.take();
          return { type: "condition", position: operator.position, condition: left, then, else: this.expression(0) };
        }
        return { type: "condition", position: operator.position, condition: left, then };
      }
      default: {
        const power = bindingPower[value];
        if (power === undefined || power === 0) throw new OutsideSubset();
        return { type: "binary", value, position: operator.position, lhs: left, rhs: this.expression(power) };
      }
    }
  }
}

/** The JSONata AST of `source` when it is in the subset, else undefined. */
export function fastParse(source: string): ExpressionNode | undefined {
  const tokens = tokenize(source);
  if (!tokens) return undefined;
  try {
    return new SubsetParser(tokens).parse();
  } catch (error) {
    if (error instanceof OutsideSubset) return undefined;
    throw error;
  }
}
