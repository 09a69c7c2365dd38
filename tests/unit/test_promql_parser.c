/*
 * Unit tests for lib/promql: parsing, type checking and printing PromQL.
 *
 * The big table holds queries with what Prometheus 2.42 answers for them
 * on /api/v1/format_query: the canonical text, or the exact error with its
 * line:column. The expectations were recorded from a real Prometheus 2.42
 * (the Debian package) and are checked here against our parser.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "promql/parser.h"

struct parse_case {
    const char *query;
    const char *want_text; /* canonical form, or NULL for an error */
    const char *want_err;  /* "line:col: parse error: ..." */
};

/* clang-format off */
#define OK(q, text) {q, text, NULL}
#define ERR(q, msg) {q, NULL, msg}
/* clang-format on */

static const struct parse_case cases[] = {

    /* Basics: Inf/NaN, keywords as names, selectors, escapes, modifiers */
    OK("inf", "+Inf"),
    OK("Inf", "+Inf"),
    OK("NaN", "NaN"),
    OK("nan", "NaN"),
    OK("-Inf", "-Inf"),
    OK("infinity", "infinity"),
    OK("Inf:x", "Inf:x"),
    ERR("inf{a=\"b\"}", "1:4: parse error: unexpected \"{\""),
    OK("sum", "sum"),
    OK("by", "by"),
    OK("offset", "offset"),
    ERR("on", "1:1: parse error: unexpected <on>"),
    ERR("bool", "1:1: parse error: unexpected <bool>"),
    OK("start", "start"),
    OK("and", "and"),
    ERR("x + on",
        "1:7: parse error: unexpected end of input in grouping opts, expected"
        " \"(\""),
    ERR("rate(1) + rate(2)",
        "1:6: parse error: expected type range vector in call to function \"r"
        "ate\", got scalar"),
    ERR("x{a=\"b\" c}",
        "1:9: parse error: unexpected identifier \"c\" in label matching, exp"
        "ected \",\" or \"}\""),
    ERR("{a b}",
        "1:4: parse error: unexpected identifier \"b\" in label matching, exp"
        "ected label matching operator"),
    ERR("{a=b}",
        "1:4: parse error: unexpected identifier \"b\" in label matching, exp"
        "ected string"),
    ERR("{=}",
        "1:2: parse error: unexpected \"=\" in label matching, expected ident"
        "ifier or \"}\""),
    OK("{by=\"x\"}", "{by=\"x\"}"),
    OK("{__name__=\"x\"}", "{__name__=\"x\"}"),
    OK("{__name__=\"x\", a=\"b\"}", "{__name__=\"x\",a=\"b\"}"),
    ERR("x{__name__=\"y\"}",
        "1:1: parse error: metric name must not be set twice: \"x\" or \"y\""),
    ERR("{a=\"\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    ERR("{a=~\".*\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    OK("{a=~\".+\"}", "{a=~\".+\"}"),
    ERR("x[5]", "1:3: parse error: missing unit character in duration"),
    ERR("x[]", "1:3: parse error: missing unit character in duration"),
    ERR("x[5m:a]", "1:6: parse error: unexpected colon 'a'"),
    ERR("x offset 5",
        "1:10: parse error: unexpected number \"5\" in offset, expected durat"
        "ion"),
    ERR("x[5m:1]",
        "1:6: parse error: unexpected number \"1\" in subquery selector, expe"
        "cted duration or \"]\""),
    ERR("\"abc\\q\"", "1:1: parse error: unknown escape sequence U+0071 'q'"),
    ERR("'a\\\"b'", "1:1: parse error: unknown escape sequence U+0022 '\"'"),
    ERR("\"a\\'b\"", "1:1: parse error: unknown escape sequence U+0027 '''"),
    OK("010", "8"),
    OK("08", "8"),
    OK("0x1F", "31"),
    OK("1e3", "1000"),
    OK(".5", "0.5"),
    OK("5.", "5"),
    ERR("1.5m", "1:1: parse error: unexpected duration \"1.5m\""),
    ERR("x[1.5m]", "1:3: parse error: not a valid duration string: \"1.5m\""),
    ERR("x[0s]", "1:3: parse error: duration must be greater than 0"),
    OK("x[1h30m]", "x[1h30m]"),
    ERR("x[30m1h]", "1:3: parse error: not a valid duration string: \"30m1h\""),
    OK("x[5m] offset 1m @ 100", "x[5m] @ 100.000 offset 1m"),
    OK("x @ 100 offset 1m", "x @ 100.000 offset 1m"),
    OK("x @ start() offset -5m", "x @ start() offset -5m"),
    OK("sum(x) by (a)", "sum by (a) (x)"),
    OK("sum by () (x)", "sum(x)"),
    OK("sum without () (x)", "sum without () (x)"),
    OK("a + ignoring() group_left b", "a + b"),
    OK("a + on() group_left b", "a + on () group_left () b"),
    OK("x{b=\"1\",a=\"2\"}", "x{a=\"2\",b=\"1\"}"),
    OK("\"a\\nb\\x41\\u00e9\"", "\"a\\nbAé\""),
    OK("`raw\\n`", "\"raw\\\\n\""),
    OK("- - 1", "1"),
    OK("-(1)", "-(1)"),
    OK("+x", "+x"),
    OK("-x", "-x"),
    ERR("1 > 2",
        "1:3: parse error: comparisons between scalars must use BOOL modifier"),
    OK("1 > bool 2", "1 > bool 2"),
    ERR("x and 1",
        "1:1: parse error: set operator \"and\" not allowed in binary scalar "
        "expression"),

    /* Number forms, lexer errors, range and subquery errors, type errors */
    OK("1e6", "1e+06"),
    OK("123456789", "1.23456789e+08"),
    OK("100000", "100000"),
    OK("0.00001", "1e-05"),
    OK("0.0001", "0.0001"),
    OK("1e21", "1e+21"),
    OK("1e-7", "1e-07"),
    OK("1.5e300", "1.5e+300"),
    ERR("0x",
        "1:1: parse error: error parsing number: strconv.ParseFloat: parsing "
        "\"0x\": invalid syntax"),
    ERR("0x + 1",
        "1:1: parse error: error parsing number: strconv.ParseFloat: parsing "
        "\"0x\": invalid syntax"),
    ERR("1e",
        "1:1: parse error: error parsing number: strconv.ParseFloat: parsing "
        "\"1e\": invalid syntax"),
    ERR("1E400",
        "1:1: parse error: error parsing number: strconv.ParseFloat: parsing "
        "\"1E400\": value out of range"),
    OK("1e-400", "0"),
    ERR("0xFFFFFFFFFFFFFFFFFF",
        "1:1: parse error: error parsing number: strconv.ParseFloat: parsing "
        "\"0xFFFFFFFFFFFFFFFFFF\": invalid syntax"),
    OK("99999999999999999999", "1e+20"),
    ERR("5x", "1:1: parse error: bad number or duration syntax: \"5\""),
    ERR("5mx", "1:1: parse error: bad number or duration syntax: \"5mx\""),
    ERR("1)", "1:3: parse error: unexpected right parenthesis ')'"),
    ERR("(1", "1:3: parse error: unclosed left parenthesis"),
    ERR("sum(x", "1:6: parse error: unclosed left parenthesis"),
    ERR("x[5m", "1:5: parse error: unclosed left bracket"),
    ERR("{a=\"b\"", "1:7: parse error: unexpected end of input inside braces"),
    ERR("x @ @",
        "1:5: parse error: unexpected \"<Item 57385>\" <op:@> in @, expected "
        "timestamp"),
    ERR("@", "1:1: parse error: unexpected \"<Item 57385>\" <op:@>"),
    ERR("1 + * 2", "1:5: parse error: unexpected <op:*>"),
    ERR("x offset 5m offset 1m",
        "1:1: parse error: offset may not be set multiple times"),
    ERR("x @ 1 @ 2",
        "1:1: parse error: @ <timestamp> may not be set multiple times"),
    OK("x[5m a]", "x[5m:]"),
    ERR("x[5m:1m:2m]", "1:8: parse error: unexpected colon ':'"),
    ERR("x @ start",
        "1:10: parse error: unexpected end of input in @, expected timestamp"),
    ERR("x @ start(", "1:11: parse error: unclosed left parenthesis"),
    ERR("sum by (a:b) (x)",
        "1:9: parse error: unexpected metric identifier \"a:b\" in grouping o"
        "pts, expected label"),
    ERR("sum by (inf) (x)",
        "1:9: parse error: unexpected number \"inf\" in grouping opts, expect"
        "ed label"),
    ERR("sum(x) by (a) by (b)", "1:15: parse error: unexpected <by>"),
    ERR("sum()",
        "1:1: parse error: no arguments for aggregate expression provided"),
    ERR("topk(x)",
        "1:1: parse error: wrong number of arguments for aggregate expression"
        " provided, expected 2, got 1"),
    ERR("topk(1,2,3)",
        "1:1: parse error: wrong number of arguments for aggregate expression"
        " provided, expected 2, got 3"),
    ERR("sum(1,2)",
        "1:1: parse error: wrong number of arguments for aggregate expression"
        " provided, expected 1, got 2"),
    ERR("foo(1) +", "1:1: parse error: unknown function with name \"foo\""),
    ERR("rate(x[5m],)",
        "1:11: parse error: trailing commas not allowed in function call args"),
    ERR("x offset 5m [5m]",
        "1:13: parse error: no offset modifiers allowed before range"),
    ERR("x @ 1 [5m]", "1:7: parse error: no @ modifiers allowed before range"),
    ERR("(x)[5m]",
        "1:4: parse error: ranges only allowed for vector selectors"),
    ERR("rate(x[5m])[5m]",
        "1:12: parse error: ranges only allowed for vector selectors"),
    OK("rate(x[5m])[5m:]", "rate(x[5m])[5m:]"),
    ERR("x[5m][5m:1m]",
        "1:1: parse error: subquery is only allowed on instant vector, got ma"
        "trix instead"),
    ERR("1 offset 5m",
        "1:1: parse error: offset modifier must be preceded by an instant vec"
        "tor selector or range vector selector or a subquery"),
    ERR("\"a\" @ 1",
        "1:1: parse error: @ modifier must be preceded by an instant vector s"
        "elector or range vector selector or a subquery"),
    ERR("{a=~\"(\"}",
        "1:2: parse error: error parsing regexp: missing closing ): `^(?:()$`"),
    ERR("x{a=~\"a(b\"}",
        "1:3: parse error: error parsing regexp: missing closing ): `^(?:a(b)"
        "$`"),
    ERR("\"abc", "1:1: parse error: unterminated quoted string"),
    ERR("'abc", "1:1: parse error: unterminated quoted string"),
    ERR("`abc", "1:1: parse error: unterminated raw string"),
    ERR("x $ y", "1:3: parse error: unexpected character: '$'"),
    ERR("!x", "1:1: parse error: unexpected character after '!': 'x'"),
    ERR("x =~ y", "1:3: parse error: unexpected character after '=': '~'"),
    ERR("{a!b}",
        "1:3: parse error: unexpected character after '!' inside braces: 'b'"),
    ERR("{a=~}",
        "1:5: parse error: unexpected \"}\" in label matching, expected strin"
        "g"),
    ERR("{\"a\"=\"b\"}",
        "1:2: parse error: unexpected string \"\\\"a\\\"\" in label matching,"
        " expected identifier or \"}\""),
    OK("x{}", "x"),
    ERR("{}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    ERR("1 + on(a) group_left(a) x",
        "1:3: parse error: label \"a\" must not occur in ON and GROUP clause "
        "at once"),
    ERR("x + on(a) group_left(a) y",
        "1:3: parse error: label \"a\" must not occur in ON and GROUP clause "
        "at once"),
    ERR("x and on(a) group_left(b) y",
        "1:1: parse error: no grouping allowed for \"and\" operation"),
    ERR("x + bool y",
        "1:3: parse error: bool modifier can only be used on comparison opera"
        "tors"),
    ERR("x + on(a) 1",
        "1:1: parse error: vector matching only allowed between instant vecto"
        "rs"),
    ERR("x + ignoring(a) 1",
        "1:1: parse error: vector matching only allowed between instant vecto"
        "rs"),
    ERR("1 and 1",
        "1:1: parse error: set operator \"and\" not allowed in binary scalar "
        "expression"),
    ERR("-x[5m]",
        "1:1: parse error: unary expression only allowed on expressions of ty"
        "pe scalar or instant vector, got \"range vector\""),
    ERR("-\"a\"",
        "1:1: parse error: unary expression only allowed on expressions of ty"
        "pe scalar or instant vector, got \"string\""),
    ERR("\"a\" + 1",
        "1:1: parse error: binary expression must contain only scalar and ins"
        "tant vector types"),
    ERR("x[5m] + 1",
        "1:1: parse error: binary expression must contain only scalar and ins"
        "tant vector types"),
    ERR("\"a\"[5m:]",
        "1:1: parse error: subquery is only allowed on instant vector, got st"
        "ring instead"),
    ERR("1[5m:]",
        "1:1: parse error: subquery is only allowed on instant vector, got sc"
        "alar instead"),
    ERR("sum(x[5m])",
        "1:5: parse error: expected type instant vector in aggregation expres"
        "sion, got range vector"),
    ERR("topk(\"a\", x)",
        "1:6: parse error: expected type scalar in aggregation parameter, got"
        " string"),
    ERR("count_values(1, x)",
        "1:14: parse error: expected type string in aggregation parameter, go"
        "t scalar"),
    ERR("quantile(x, x)",
        "1:10: parse error: expected type scalar in aggregation parameter, go"
        "t instant vector"),
    ERR("label_replace(x, 1, \"a\", \"a\", \"a\")",
        "1:18: parse error: expected type string in call to function \"label_"
        "replace\", got scalar"),
    ERR("label_join(x, \"a\", \"b\", \"c\", 1)",
        "1:30: parse error: expected type string in call to function \"label_"
        "join\", got scalar"),
    ERR("round(x, \"a\")",
        "1:10: parse error: expected type scalar in call to function \"round"
        "\", got string"),
    ERR("histogram_quantile(0.9, x[5m])",
        "1:25: parse error: expected type instant vector in call to function "
        "\"histogram_quantile\", got range vector"),
    ERR("time(x)",
        "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"),

    /* Aggregator names as metrics, syntax error contexts, precedence */
    OK("sum + 1", "sum + 1"),
    OK("sum offset 5m", "sum offset 5m"),
    OK("sum[5m]", "sum[5m]"),
    OK("sum{a=\"b\"}", "sum{a=\"b\"}"),
    ERR("sum x", "1:5: parse error: unexpected identifier \"x\""),
    ERR("sum by",
        "1:7: parse error: unexpected end of input in grouping opts, expected"
        " \"(\""),
    ERR("sum by (a)",
        "1:11: parse error: unexpected end of input in aggregation"),
    ERR("sum (a) by",
        "1:11: parse error: unexpected end of input in grouping opts, expecte"
        "d \"(\""),
    ERR("sum(x y)",
        "1:7: parse error: unexpected identifier \"y\" in aggregation"),
    ERR("sum(rate(x[5m] y))",
        "1:16: parse error: unexpected identifier \"y\" in aggregation"),
    ERR("sum(x +)", "1:8: parse error: unexpected \")\" in aggregation"),
    ERR("sum by (a b) (x)",
        "1:11: parse error: unexpected identifier \"b\" in grouping opts, exp"
        "ected \",\" or \")\""),
    OK("sum by (a,) (x)", "sum by (a) (x)"),
    ERR("sum by (,) (x)",
        "1:9: parse error: unexpected \",\" in grouping opts, expected label"),
    ERR("sum by a (x)",
        "1:8: parse error: unexpected identifier \"a\" in grouping opts, expe"
        "cted \"(\""),
    ERR("x + on(a) group_left )",
        "1:23: parse error: unexpected right parenthesis ')'"),
    OK("x + on(a) group_left y", "x + on (a) group_left () y"),
    OK("x + on(a) group_left(b) y", "x + on (a) group_left (b) y"),
    ERR("x + on(", "1:8: parse error: unclosed left parenthesis"),
    ERR("x + on(a", "1:9: parse error: unclosed left parenthesis"),
    ERR("x + on a",
        "1:8: parse error: unexpected identifier \"a\" in grouping opts, expe"
        "cted \"(\""),
    ERR("x +", "1:4: parse error: unexpected end of input"),
    ERR("x + )", "1:6: parse error: unexpected right parenthesis ')'"),
    ERR("()", "1:2: parse error: unexpected \")\""),
    ERR("(", "1:2: parse error: unclosed left parenthesis"),
    ERR("x y", "1:3: parse error: unexpected identifier \"y\""),
    ERR("x 1", "1:3: parse error: unexpected number \"1\""),
    ERR("rate(x y)", "1:8: parse error: unexpected identifier \"y\""),
    ERR("x offset -",
        "1:11: parse error: unexpected end of input in offset, expected durat"
        "ion"),
    ERR("x @ -",
        "1:6: parse error: unexpected end of input in @, expected timestamp"),
    ERR("x @ start 5",
        "1:11: parse error: unexpected number \"5\" in @, expected timestamp"),
    OK("x @ end()", "x @ end()"),
    OK("x @ 1.5", "x @ 1.500"),
    OK("x @ -1.5", "x @ -1.500"),
    OK("x @ +2", "x @ 2.000"),
    OK("x @ 1e3", "x @ 1000.000"),
    ERR("x @ Inf",
        "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"),
    ERR("x @ NaN",
        "1:1: parse error: timestamp out of bounds for @ modifier: NaN"),
    ERR("x @ 9223372036854775807",
        "1:1: parse error: timestamp out of bounds for @ modifier: 9223372036"
        "854775808.000000"),
    ERR("x @ \"a\"",
        "1:5: parse error: unexpected string \"\\\"a\\\"\" in @, expected tim"
        "estamp"),
    ERR("x offset",
        "1:9: parse error: unexpected end of input in offset, expected durati"
        "on"),
    OK("x offset 5m1s", "x offset 5m1s"),
    OK("x offset -1h", "x offset -1h"),
    OK("by offset 5m", "by offset 5m"),
    OK("x and and", "x and and"),
    OK("and + 1", "and + 1"),
    OK("start + end", "start + end"),
    OK("x{a=\"b\",}", "x{a=\"b\"}"),
    ERR("x{,}",
        "1:3: parse error: unexpected \",\" in label matching, expected ident"
        "ifier or \"}\""),
    ERR("x{a=\"b\" \"c\"}",
        "1:9: parse error: unexpected string \"\\\"c\\\"\" in label matching,"
        " expected \",\" or \"}\""),
    ERR("x{a=}",
        "1:5: parse error: unexpected \"}\" in label matching, expected strin"
        "g"),
    ERR("x{a}",
        "1:4: parse error: unexpected \"}\" in label matching, expected label"
        " matching operator"),
    OK("{a=\"b\"} offset 5m", "{a=\"b\"} offset 5m"),
    ERR("# comment only", "1:1: parse error: no expression found in input"),
    ERR("", "1:1: parse error: no expression found in input"),
    ERR("   ", "1:1: parse error: no expression found in input"),
    OK("x # trailing comment", "x"),
    OK("x[5m:] offset 1m @ end()", "x[5m:] @ end() offset 1m"),
    OK("rate(x[5m]) [1h:5m]", "rate(x[5m])[1h:5m]"),
    OK("sum(x)[5m:]", "sum(x)[5m:]"),
    ERR("x[5m:5m] offset 1m offset 2m",
        "1:1: parse error: offset may not be set multiple times"),
    OK("x ^ y ^ z", "x ^ y ^ z"),
    OK("-x ^ 2", "-x ^ 2"),
    OK("-1 ^ 2", "-1 ^ 2"),
    OK("2 ^ -1", "2 ^ -1"),
    OK("a - b - c", "a - b - c"),
    OK("a / b * c % d", "a / b * c % d"),
    OK("a + b * c", "a + b * c"),
    OK("a * b + c", "a * b + c"),
    OK("a or b and c unless d", "a or b and c unless d"),
    OK("a == b or c", "a == b or c"),
    OK("a > b + c", "a > b + c"),
    OK("(a + b) * c", "(a + b) * c"),
    OK("-a * b", "-a * b"),
    OK("a atan2 b * c", "a atan2 b * c"),
    OK("a * b atan2 c", "a * b atan2 c"),
    OK("a ^ b atan2 c", "a ^ b atan2 c"),

    /* Escapes, modifiers in either order, vector matching, aggregations */
    ERR("x + on(a) group_left ,",
        "1:22: parse error: unexpected \",\" in grouping opts, expected \"(\""),
    ERR("x + on(a) group_left 1",
        "1:1: parse error: vector matching only allowed between instant vecto"
        "rs"),
    ERR("sum by (a) (x) by (b)", "1:16: parse error: unexpected <by>"),
    ERR("x @ start(5)",
        "1:11: parse error: unexpected number \"5\" in @, expected timestamp"),
    ERR("x @ start)", "1:11: parse error: unexpected right parenthesis ')'"),
    ERR("-1 offset 5m",
        "1:2: parse error: offset modifier must be preceded by an instant vec"
        "tor selector or range vector selector or a subquery"),
    ERR("-1[5m:]",
        "1:2: parse error: subquery is only allowed on instant vector, got sc"
        "alar instead"),
    ERR("sum(x,)",
        "1:6: parse error: trailing commas not allowed in function call args"),
    OK("sum without(a)(x)", "sum without (a) (x)"),
    OK("count_values(\"a\", x) without (b)",
       "count_values without (b) (\"a\", x)"),
    OK("x{a=\"\\x00\"}", "x{a=\"\\x00\"}"),
    OK("\"\\u00a0\\u200b\\t\\x7f\\xff\"", "\"\\u00a0\\u200b\\t\\x7f\\xff\""),
    OK("\"\\U0001f600\"", "\"😀\""),
    ERR("\"\\101\\777\"",
        "1:1: parse error: escape sequence is an invalid Unicode code point"),
    ERR("\"\\uD800\"",
        "1:1: parse error: escape sequence is an invalid Unicode code point"),
    OK("'it\\'s'", "\"it's\""),
    ERR("\"a\\", "1:1: parse error: escape sequence not terminated"),
    ERR("x @ start() @ end()",
        "1:1: parse error: @ <timestamp> may not be set multiple times"),
    ERR("x[5m] @ 1 offset 2m @ 3",
        "1:1: parse error: @ <timestamp> may not be set multiple times"),
    OK("1 + 2 * 3 ^ 4 ^ 5 % 6", "1 + 2 * 3 ^ 4 ^ 5 % 6"),
    OK("x == bool y", "x == bool y"),
    OK("x != on(a) group_right(b) y", "x != on (a) group_right (b) y"),
    OK("x > ignoring(a,b,) y", "x > ignoring (a, b) y"),
    OK("{__name__=~\"a.*\"}", "{__name__=~\"a.*\"}"),
    OK("{__name__=~\"a.*\", job=\"x\"}", "{__name__=~\"a.*\",job=\"x\"}"),
    OK("x{job=\"a\", instance!~\"b\", env=~\"c\", z!=\"d\"}",
       "x{env=~\"c\",instance!~\"b\",job=\"a\",z!=\"d\"}"),
    OK("x{a=`\\d+`}", "x{a=\"\\\\d+\"}"),
    OK("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
       "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))"),
    OK("label_join(x, \"dst\", \",\", \"a\", \"b\", \"c\")",
       "label_join(x, \"dst\", \",\", \"a\", \"b\", \"c\")"),
    OK("label_replace(up, \"foo\", \"$1\", \"job\", \"(.*)\")",
       "label_replace(up, \"foo\", \"$1\", \"job\", \"(.*)\")"),
    OK("x offset 1y2w", "x offset 379d"),
    OK("x offset 90d", "x offset 90d"),
    OK("x offset 14d", "x offset 2w"),
    OK("x offset 1500ms", "x offset 1s500ms"),
    OK("x[1d1ms]", "x[1d1ms]"),
    OK("quantile(0.5, x)", "quantile(0.5, x)"),
    OK("topk(5, x) by (job)", "topk by (job) (5, x)"),
    OK("bottomk by (a) (3, x)", "bottomk by (a) (3, x)"),
    OK("group(x)", "group(x)"),
    OK("stddev without (a) (x)", "stddev without (a) (x)"),
    OK("absent(nonexistent{job=\"x\"})", "absent(nonexistent{job=\"x\"})"),
    OK("vector(1) + scalar(x)", "vector(1) + scalar(x)"),
    OK("time() - timestamp(x)", "time() - timestamp(x)"),
    OK("pi() * 2", "pi() * 2"),
    OK("1 == bool 1", "1 == bool 1"),
    OK("-(x + y)", "-(x + y)"),
    OK("+1", "1"),
    OK("+ -x", "+-x"),
    OK("x - -1", "x - -1"),
    OK("x ^ -1", "x ^ -1"),

    /*
     * Every function with right and wrong argument types and counts;
     * case-insensitive keywords; multi-line input; number printing.
     */
    OK("abs(x)", "abs(x)"),
    ERR("abs(1)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"abs\", got scalar"),
    ERR("abs(x[5m])",
        "1:5: parse error: expected type instant vector in call to function "
        "\"abs\", got range vector"),
    ERR("abs(\"a\")",
        "1:5: parse error: expected type instant vector in call to function "
        "\"abs\", got string"),
    OK("absent(x)", "absent(x)"),
    ERR("absent(1)",
        "1:8: parse error: expected type instant vector in call to function "
        "\"absent\", got scalar"),
    ERR("absent(x[5m])",
        "1:8: parse error: expected type instant vector in call to function "
        "\"absent\", got range vector"),
    ERR("absent(\"a\")",
        "1:8: parse error: expected type instant vector in call to function "
        "\"absent\", got string"),
    OK("absent_over_time(x[5m])", "absent_over_time(x[5m])"),
    ERR("absent_over_time(1)",
        "1:18: parse error: expected type range vector in call to function \""
        "absent_over_time\", got scalar"),
    ERR("absent_over_time(x)",
        "1:18: parse error: expected type range vector in call to function \""
        "absent_over_time\", got instant vector"),
    ERR("absent_over_time(\"a\")",
        "1:18: parse error: expected type range vector in call to function \""
        "absent_over_time\", got string"),
    OK("acos(x)", "acos(x)"),
    ERR("acos(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"acos\", got scalar"),
    ERR("acos(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"acos\", got range vector"),
    ERR("acos(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"acos\", got string"),
    OK("acosh(x)", "acosh(x)"),
    ERR("acosh(1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"acosh\", got scalar"),
    ERR("acosh(x[5m])",
        "1:7: parse error: expected type instant vector in call to function "
        "\"acosh\", got range vector"),
    ERR("acosh(\"a\")",
        "1:7: parse error: expected type instant vector in call to function "
        "\"acosh\", got string"),
    OK("asin(x)", "asin(x)"),
    ERR("asin(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"asin\", got scalar"),
    ERR("asin(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"asin\", got range vector"),
    ERR("asin(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"asin\", got string"),
    OK("asinh(x)", "asinh(x)"),
    ERR("asinh(1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"asinh\", got scalar"),
    ERR("asinh(x[5m])",
        "1:7: parse error: expected type instant vector in call to function "
        "\"asinh\", got range vector"),
    ERR("asinh(\"a\")",
        "1:7: parse error: expected type instant vector in call to function "
        "\"asinh\", got string"),
    OK("atan(x)", "atan(x)"),
    ERR("atan(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"atan\", got scalar"),
    ERR("atan(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"atan\", got range vector"),
    ERR("atan(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"atan\", got string"),
    OK("atanh(x)", "atanh(x)"),
    ERR("atanh(1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"atanh\", got scalar"),
    ERR("atanh(x[5m])",
        "1:7: parse error: expected type instant vector in call to function "
        "\"atanh\", got range vector"),
    ERR("atanh(\"a\")",
        "1:7: parse error: expected type instant vector in call to function "
        "\"atanh\", got string"),
    OK("avg_over_time(x[5m])", "avg_over_time(x[5m])"),
    ERR("avg_over_time(1)",
        "1:15: parse error: expected type range vector in call to function \""
        "avg_over_time\", got scalar"),
    ERR("avg_over_time(x)",
        "1:15: parse error: expected type range vector in call to function \""
        "avg_over_time\", got instant vector"),
    ERR("avg_over_time(\"a\")",
        "1:15: parse error: expected type range vector in call to function \""
        "avg_over_time\", got string"),
    OK("ceil(x)", "ceil(x)"),
    ERR("ceil(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"ceil\", got scalar"),
    ERR("ceil(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"ceil\", got range vector"),
    ERR("ceil(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"ceil\", got string"),
    OK("changes(x[5m])", "changes(x[5m])"),
    ERR("changes(1)",
        "1:9: parse error: expected type range vector in call to function \"c"
        "hanges\", got scalar"),
    ERR("changes(x)",
        "1:9: parse error: expected type range vector in call to function \"c"
        "hanges\", got instant vector"),
    ERR("changes(\"a\")",
        "1:9: parse error: expected type range vector in call to function \"c"
        "hanges\", got string"),
    OK("clamp(x, 1, 1)", "clamp(x, 1, 1)"),
    ERR("clamp(1, 1, 1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"clamp\", got scalar"),
    ERR("clamp(x[5m], 1, 1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"clamp\", got range vector"),
    ERR("clamp(\"a\", 1, 1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"clamp\", got string"),
    ERR("clamp(x, x, 1)",
        "1:10: parse error: expected type scalar in call to function \"clamp"
        "\", got instant vector"),
    ERR("clamp(x, x[5m], 1)",
        "1:10: parse error: expected type scalar in call to function \"clamp"
        "\", got range vector"),
    ERR("clamp(x, \"a\", 1)",
        "1:10: parse error: expected type scalar in call to function \"clamp"
        "\", got string"),
    ERR("clamp(x, 1, x)",
        "1:13: parse error: expected type scalar in call to function \"clamp"
        "\", got instant vector"),
    ERR("clamp(x, 1, x[5m])",
        "1:13: parse error: expected type scalar in call to function \"clamp"
        "\", got range vector"),
    ERR("clamp(x, 1, \"a\")",
        "1:13: parse error: expected type scalar in call to function \"clamp"
        "\", got string"),
    OK("clamp_max(x, 1)", "clamp_max(x, 1)"),
    ERR("clamp_max(1, 1)",
        "1:11: parse error: expected type instant vector in call to function "
        "\"clamp_max\", got scalar"),
    ERR("clamp_max(x[5m], 1)",
        "1:11: parse error: expected type instant vector in call to function "
        "\"clamp_max\", got range vector"),
    ERR("clamp_max(\"a\", 1)",
        "1:11: parse error: expected type instant vector in call to function "
        "\"clamp_max\", got string"),
    ERR("clamp_max(x, x)",
        "1:14: parse error: expected type scalar in call to function \"clamp_"
        "max\", got instant vector"),
    ERR("clamp_max(x, x[5m])",
        "1:14: parse error: expected type scalar in call to function \"clamp_"
        "max\", got range vector"),
    ERR("clamp_max(x, \"a\")",
        "1:14: parse error: expected type scalar in call to function \"clamp_"
        "max\", got string"),
    OK("clamp_min(x, 1)", "clamp_min(x, 1)"),
    ERR("clamp_min(1, 1)",
        "1:11: parse error: expected type instant vector in call to function "
        "\"clamp_min\", got scalar"),
    ERR("clamp_min(x[5m], 1)",
        "1:11: parse error: expected type instant vector in call to function "
        "\"clamp_min\", got range vector"),
    ERR("clamp_min(\"a\", 1)",
        "1:11: parse error: expected type instant vector in call to function "
        "\"clamp_min\", got string"),
    ERR("clamp_min(x, x)",
        "1:14: parse error: expected type scalar in call to function \"clamp_"
        "min\", got instant vector"),
    ERR("clamp_min(x, x[5m])",
        "1:14: parse error: expected type scalar in call to function \"clamp_"
        "min\", got range vector"),
    ERR("clamp_min(x, \"a\")",
        "1:14: parse error: expected type scalar in call to function \"clamp_"
        "min\", got string"),
    OK("cos(x)", "cos(x)"),
    ERR("cos(1)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"cos\", got scalar"),
    ERR("cos(x[5m])",
        "1:5: parse error: expected type instant vector in call to function "
        "\"cos\", got range vector"),
    ERR("cos(\"a\")",
        "1:5: parse error: expected type instant vector in call to function "
        "\"cos\", got string"),
    OK("cosh(x)", "cosh(x)"),
    ERR("cosh(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"cosh\", got scalar"),
    ERR("cosh(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"cosh\", got range vector"),
    ERR("cosh(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"cosh\", got string"),
    OK("count_over_time(x[5m])", "count_over_time(x[5m])"),
    ERR("count_over_time(1)",
        "1:17: parse error: expected type range vector in call to function \""
        "count_over_time\", got scalar"),
    ERR("count_over_time(x)",
        "1:17: parse error: expected type range vector in call to function \""
        "count_over_time\", got instant vector"),
    ERR("count_over_time(\"a\")",
        "1:17: parse error: expected type range vector in call to function \""
        "count_over_time\", got string"),
    OK("day_of_month(x)", "day_of_month(x)"),
    ERR("day_of_month(1)",
        "1:14: parse error: expected type instant vector in call to function "
        "\"day_of_month\", got scalar"),
    ERR("day_of_month(x[5m])",
        "1:14: parse error: expected type instant vector in call to function "
        "\"day_of_month\", got range vector"),
    ERR("day_of_month(\"a\")",
        "1:14: parse error: expected type instant vector in call to function "
        "\"day_of_month\", got string"),
    OK("day_of_month()", "day_of_month()"),
    ERR("day_of_month(x, x)",
        "1:1: parse error: expected at most 1 argument(s) in call to \"day_of"
        "_month\", got 2"),
    OK("day_of_week(x)", "day_of_week(x)"),
    ERR("day_of_week(1)",
        "1:13: parse error: expected type instant vector in call to function "
        "\"day_of_week\", got scalar"),
    ERR("day_of_week(x[5m])",
        "1:13: parse error: expected type instant vector in call to function "
        "\"day_of_week\", got range vector"),
    ERR("day_of_week(\"a\")",
        "1:13: parse error: expected type instant vector in call to function "
        "\"day_of_week\", got string"),
    OK("day_of_week()", "day_of_week()"),
    ERR("day_of_week(x, x)",
        "1:1: parse error: expected at most 1 argument(s) in call to \"day_of"
        "_week\", got 2"),
    OK("day_of_year(x)", "day_of_year(x)"),
    ERR("day_of_year(1)",
        "1:13: parse error: expected type instant vector in call to function "
        "\"day_of_year\", got scalar"),
    ERR("day_of_year(x[5m])",
        "1:13: parse error: expected type instant vector in call to function "
        "\"day_of_year\", got range vector"),
    ERR("day_of_year(\"a\")",
        "1:13: parse error: expected type instant vector in call to function "
        "\"day_of_year\", got string"),
    OK("day_of_year()", "day_of_year()"),
    ERR("day_of_year(x, x)",
        "1:1: parse error: expected at most 1 argument(s) in call to \"day_of"
        "_year\", got 2"),
    OK("days_in_month(x)", "days_in_month(x)"),
    ERR("days_in_month(1)",
        "1:15: parse error: expected type instant vector in call to function "
        "\"days_in_month\", got scalar"),
    ERR("days_in_month(x[5m])",
        "1:15: parse error: expected type instant vector in call to function "
        "\"days_in_month\", got range vector"),
    ERR("days_in_month(\"a\")",
        "1:15: parse error: expected type instant vector in call to function "
        "\"days_in_month\", got string"),
    OK("days_in_month()", "days_in_month()"),
    ERR("days_in_month(x, x)",
        "1:1: parse error: expected at most 1 argument(s) in call to \"days_i"
        "n_month\", got 2"),
    OK("deg(x)", "deg(x)"),
    ERR("deg(1)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"deg\", got scalar"),
    ERR("deg(x[5m])",
        "1:5: parse error: expected type instant vector in call to function "
        "\"deg\", got range vector"),
    ERR("deg(\"a\")",
        "1:5: parse error: expected type instant vector in call to function "
        "\"deg\", got string"),
    OK("delta(x[5m])", "delta(x[5m])"),
    ERR("delta(1)",
        "1:7: parse error: expected type range vector in call to function \"d"
        "elta\", got scalar"),
    ERR("delta(x)",
        "1:7: parse error: expected type range vector in call to function \"d"
        "elta\", got instant vector"),
    ERR("delta(\"a\")",
        "1:7: parse error: expected type range vector in call to function \"d"
        "elta\", got string"),
    OK("deriv(x[5m])", "deriv(x[5m])"),
    ERR("deriv(1)",
        "1:7: parse error: expected type range vector in call to function \"d"
        "eriv\", got scalar"),
    ERR("deriv(x)",
        "1:7: parse error: expected type range vector in call to function \"d"
        "eriv\", got instant vector"),
    ERR("deriv(\"a\")",
        "1:7: parse error: expected type range vector in call to function \"d"
        "eriv\", got string"),
    OK("exp(x)", "exp(x)"),
    ERR("exp(1)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"exp\", got scalar"),
    ERR("exp(x[5m])",
        "1:5: parse error: expected type instant vector in call to function "
        "\"exp\", got range vector"),
    ERR("exp(\"a\")",
        "1:5: parse error: expected type instant vector in call to function "
        "\"exp\", got string"),
    OK("floor(x)", "floor(x)"),
    ERR("floor(1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"floor\", got scalar"),
    ERR("floor(x[5m])",
        "1:7: parse error: expected type instant vector in call to function "
        "\"floor\", got range vector"),
    ERR("floor(\"a\")",
        "1:7: parse error: expected type instant vector in call to function "
        "\"floor\", got string"),
    OK("histogram_count(x)", "histogram_count(x)"),
    ERR("histogram_count(1)",
        "1:17: parse error: expected type instant vector in call to function "
        "\"histogram_count\", got scalar"),
    ERR("histogram_count(x[5m])",
        "1:17: parse error: expected type instant vector in call to function "
        "\"histogram_count\", got range vector"),
    ERR("histogram_count(\"a\")",
        "1:17: parse error: expected type instant vector in call to function "
        "\"histogram_count\", got string"),
    OK("histogram_fraction(1, 1, x)", "histogram_fraction(1, 1, x)"),
    ERR("histogram_fraction(x, 1, x)",
        "1:20: parse error: expected type scalar in call to function \"histog"
        "ram_fraction\", got instant vector"),
    ERR("histogram_fraction(x[5m], 1, x)",
        "1:20: parse error: expected type scalar in call to function \"histog"
        "ram_fraction\", got range vector"),
    ERR("histogram_fraction(\"a\", 1, x)",
        "1:20: parse error: expected type scalar in call to function \"histog"
        "ram_fraction\", got string"),
    ERR("histogram_fraction(1, x, x)",
        "1:23: parse error: expected type scalar in call to function \"histog"
        "ram_fraction\", got instant vector"),
    ERR("histogram_fraction(1, x[5m], x)",
        "1:23: parse error: expected type scalar in call to function \"histog"
        "ram_fraction\", got range vector"),
    ERR("histogram_fraction(1, \"a\", x)",
        "1:23: parse error: expected type scalar in call to function \"histog"
        "ram_fraction\", got string"),
    ERR("histogram_fraction(1, 1, 1)",
        "1:26: parse error: expected type instant vector in call to function "
        "\"histogram_fraction\", got scalar"),
    ERR("histogram_fraction(1, 1, x[5m])",
        "1:26: parse error: expected type instant vector in call to function "
        "\"histogram_fraction\", got range vector"),
    ERR("histogram_fraction(1, 1, \"a\")",
        "1:26: parse error: expected type instant vector in call to function "
        "\"histogram_fraction\", got string"),
    OK("histogram_quantile(1, x)", "histogram_quantile(1, x)"),
    ERR("histogram_quantile(x, x)",
        "1:20: parse error: expected type scalar in call to function \"histog"
        "ram_quantile\", got instant vector"),
    ERR("histogram_quantile(x[5m], x)",
        "1:20: parse error: expected type scalar in call to function \"histog"
        "ram_quantile\", got range vector"),
    ERR("histogram_quantile(\"a\", x)",
        "1:20: parse error: expected type scalar in call to function \"histog"
        "ram_quantile\", got string"),
    ERR("histogram_quantile(1, 1)",
        "1:23: parse error: expected type instant vector in call to function "
        "\"histogram_quantile\", got scalar"),
    ERR("histogram_quantile(1, x[5m])",
        "1:23: parse error: expected type instant vector in call to function "
        "\"histogram_quantile\", got range vector"),
    ERR("histogram_quantile(1, \"a\")",
        "1:23: parse error: expected type instant vector in call to function "
        "\"histogram_quantile\", got string"),
    OK("histogram_sum(x)", "histogram_sum(x)"),
    ERR("histogram_sum(1)",
        "1:15: parse error: expected type instant vector in call to function "
        "\"histogram_sum\", got scalar"),
    ERR("histogram_sum(x[5m])",
        "1:15: parse error: expected type instant vector in call to function "
        "\"histogram_sum\", got range vector"),
    ERR("histogram_sum(\"a\")",
        "1:15: parse error: expected type instant vector in call to function "
        "\"histogram_sum\", got string"),
    OK("holt_winters(x[5m], 1, 1)", "holt_winters(x[5m], 1, 1)"),
    ERR("holt_winters(1, 1, 1)",
        "1:14: parse error: expected type range vector in call to function \""
        "holt_winters\", got scalar"),
    ERR("holt_winters(x, 1, 1)",
        "1:14: parse error: expected type range vector in call to function \""
        "holt_winters\", got instant vector"),
    ERR("holt_winters(\"a\", 1, 1)",
        "1:14: parse error: expected type range vector in call to function \""
        "holt_winters\", got string"),
    ERR("holt_winters(x[5m], x, 1)",
        "1:21: parse error: expected type scalar in call to function \"holt_w"
        "inters\", got instant vector"),
    ERR("holt_winters(x[5m], x[5m], 1)",
        "1:21: parse error: expected type scalar in call to function \"holt_w"
        "inters\", got range vector"),
    ERR("holt_winters(x[5m], \"a\", 1)",
        "1:21: parse error: expected type scalar in call to function \"holt_w"
        "inters\", got string"),
    ERR("holt_winters(x[5m], 1, x)",
        "1:24: parse error: expected type scalar in call to function \"holt_w"
        "inters\", got instant vector"),
    ERR("holt_winters(x[5m], 1, x[5m])",
        "1:24: parse error: expected type scalar in call to function \"holt_w"
        "inters\", got range vector"),
    ERR("holt_winters(x[5m], 1, \"a\")",
        "1:24: parse error: expected type scalar in call to function \"holt_w"
        "inters\", got string"),
    OK("hour(x)", "hour(x)"),
    ERR("hour(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"hour\", got scalar"),
    ERR("hour(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"hour\", got range vector"),
    ERR("hour(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"hour\", got string"),
    OK("hour()", "hour()"),
    ERR("hour(x, x)",
        "1:1: parse error: expected at most 1 argument(s) in call to \"hour\""
        ", got 2"),
    OK("idelta(x[5m])", "idelta(x[5m])"),
    ERR("idelta(1)",
        "1:8: parse error: expected type range vector in call to function \"i"
        "delta\", got scalar"),
    ERR("idelta(x)",
        "1:8: parse error: expected type range vector in call to function \"i"
        "delta\", got instant vector"),
    ERR("idelta(\"a\")",
        "1:8: parse error: expected type range vector in call to function \"i"
        "delta\", got string"),
    OK("increase(x[5m])", "increase(x[5m])"),
    ERR("increase(1)",
        "1:10: parse error: expected type range vector in call to function \""
        "increase\", got scalar"),
    ERR("increase(x)",
        "1:10: parse error: expected type range vector in call to function \""
        "increase\", got instant vector"),
    ERR("increase(\"a\")",
        "1:10: parse error: expected type range vector in call to function \""
        "increase\", got string"),
    OK("irate(x[5m])", "irate(x[5m])"),
    ERR("irate(1)",
        "1:7: parse error: expected type range vector in call to function \"i"
        "rate\", got scalar"),
    ERR("irate(x)",
        "1:7: parse error: expected type range vector in call to function \"i"
        "rate\", got instant vector"),
    ERR("irate(\"a\")",
        "1:7: parse error: expected type range vector in call to function \"i"
        "rate\", got string"),
    OK("label_join(x, \"a\", \"a\", \"a\")",
       "label_join(x, \"a\", \"a\", \"a\")"),
    ERR("label_join(1, \"a\", \"a\", \"a\")",
        "1:12: parse error: expected type instant vector in call to function "
        "\"label_join\", got scalar"),
    ERR("label_join(x[5m], \"a\", \"a\", \"a\")",
        "1:12: parse error: expected type instant vector in call to function "
        "\"label_join\", got range vector"),
    ERR("label_join(\"a\", \"a\", \"a\", \"a\")",
        "1:12: parse error: expected type instant vector in call to function "
        "\"label_join\", got string"),
    ERR("label_join(x, 1, \"a\", \"a\")",
        "1:15: parse error: expected type string in call to function \"label_"
        "join\", got scalar"),
    ERR("label_join(x, x, \"a\", \"a\")",
        "1:15: parse error: expected type string in call to function \"label_"
        "join\", got instant vector"),
    ERR("label_join(x, x[5m], \"a\", \"a\")",
        "1:15: parse error: expected type string in call to function \"label_"
        "join\", got range vector"),
    ERR("label_join(x, \"a\", 1, \"a\")",
        "1:20: parse error: expected type string in call to function \"label_"
        "join\", got scalar"),
    ERR("label_join(x, \"a\", x, \"a\")",
        "1:20: parse error: expected type string in call to function \"label_"
        "join\", got instant vector"),
    ERR("label_join(x, \"a\", x[5m], \"a\")",
        "1:20: parse error: expected type string in call to function \"label_"
        "join\", got range vector"),
    ERR("label_join(x, \"a\", \"a\", 1)",
        "1:25: parse error: expected type string in call to function \"label_"
        "join\", got scalar"),
    ERR("label_join(x, \"a\", \"a\", x)",
        "1:25: parse error: expected type string in call to function \"label_"
        "join\", got instant vector"),
    ERR("label_join(x, \"a\", \"a\", x[5m])",
        "1:25: parse error: expected type string in call to function \"label_"
        "join\", got range vector"),
    OK("label_join(x, \"a\", \"a\")", "label_join(x, \"a\", \"a\")"),
    OK("label_join(x, \"a\", \"a\", \"a\", \"a\")",
       "label_join(x, \"a\", \"a\", \"a\", \"a\")"),
    OK("label_replace(x, \"a\", \"a\", \"a\", \"a\")",
       "label_replace(x, \"a\", \"a\", \"a\", \"a\")"),
    ERR("label_replace(1, \"a\", \"a\", \"a\", \"a\")",
        "1:15: parse error: expected type instant vector in call to function "
        "\"label_replace\", got scalar"),
    ERR("label_replace(x[5m], \"a\", \"a\", \"a\", \"a\")",
        "1:15: parse error: expected type instant vector in call to function "
        "\"label_replace\", got range vector"),
    ERR("label_replace(\"a\", \"a\", \"a\", \"a\", \"a\")",
        "1:15: parse error: expected type instant vector in call to function "
        "\"label_replace\", got string"),
    ERR("label_replace(x, x, \"a\", \"a\", \"a\")",
        "1:18: parse error: expected type string in call to function \"label_"
        "replace\", got instant vector"),
    ERR("label_replace(x, x[5m], \"a\", \"a\", \"a\")",
        "1:18: parse error: expected type string in call to function \"label_"
        "replace\", got range vector"),
    ERR("label_replace(x, \"a\", 1, \"a\", \"a\")",
        "1:23: parse error: expected type string in call to function \"label_"
        "replace\", got scalar"),
    ERR("label_replace(x, \"a\", x, \"a\", \"a\")",
        "1:23: parse error: expected type string in call to function \"label_"
        "replace\", got instant vector"),
    ERR("label_replace(x, \"a\", x[5m], \"a\", \"a\")",
        "1:23: parse error: expected type string in call to function \"label_"
        "replace\", got range vector"),
    ERR("label_replace(x, \"a\", \"a\", 1, \"a\")",
        "1:28: parse error: expected type string in call to function \"label_"
        "replace\", got scalar"),
    ERR("label_replace(x, \"a\", \"a\", x, \"a\")",
        "1:28: parse error: expected type string in call to function \"label_"
        "replace\", got instant vector"),
    ERR("label_replace(x, \"a\", \"a\", x[5m], \"a\")",
        "1:28: parse error: expected type string in call to function \"label_"
        "replace\", got range vector"),
    ERR("label_replace(x, \"a\", \"a\", \"a\", 1)",
        "1:33: parse error: expected type string in call to function \"label_"
        "replace\", got scalar"),
    ERR("label_replace(x, \"a\", \"a\", \"a\", x)",
        "1:33: parse error: expected type string in call to function \"label_"
        "replace\", got instant vector"),
    ERR("label_replace(x, \"a\", \"a\", \"a\", x[5m])",
        "1:33: parse error: expected type string in call to function \"label_"
        "replace\", got range vector"),
    OK("last_over_time(x[5m])", "last_over_time(x[5m])"),
    ERR("last_over_time(1)",
        "1:16: parse error: expected type range vector in call to function \""
        "last_over_time\", got scalar"),
    ERR("last_over_time(x)",
        "1:16: parse error: expected type range vector in call to function \""
        "last_over_time\", got instant vector"),
    ERR("last_over_time(\"a\")",
        "1:16: parse error: expected type range vector in call to function \""
        "last_over_time\", got string"),
    OK("ln(x)", "ln(x)"),
    ERR("ln(1)",
        "1:4: parse error: expected type instant vector in call to function "
        "\"ln\", got scalar"),
    ERR("ln(x[5m])",
        "1:4: parse error: expected type instant vector in call to function "
        "\"ln\", got range vector"),
    ERR("ln(\"a\")",
        "1:4: parse error: expected type instant vector in call to function "
        "\"ln\", got string"),
    OK("log10(x)", "log10(x)"),
    ERR("log10(1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"log10\", got scalar"),
    ERR("log10(x[5m])",
        "1:7: parse error: expected type instant vector in call to function "
        "\"log10\", got range vector"),
    ERR("log10(\"a\")",
        "1:7: parse error: expected type instant vector in call to function "
        "\"log10\", got string"),
    OK("log2(x)", "log2(x)"),
    ERR("log2(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"log2\", got scalar"),
    ERR("log2(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"log2\", got range vector"),
    ERR("log2(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"log2\", got string"),
    OK("max_over_time(x[5m])", "max_over_time(x[5m])"),
    ERR("max_over_time(1)",
        "1:15: parse error: expected type range vector in call to function \""
        "max_over_time\", got scalar"),
    ERR("max_over_time(x)",
        "1:15: parse error: expected type range vector in call to function \""
        "max_over_time\", got instant vector"),
    ERR("max_over_time(\"a\")",
        "1:15: parse error: expected type range vector in call to function \""
        "max_over_time\", got string"),
    OK("min_over_time(x[5m])", "min_over_time(x[5m])"),
    ERR("min_over_time(1)",
        "1:15: parse error: expected type range vector in call to function \""
        "min_over_time\", got scalar"),
    ERR("min_over_time(x)",
        "1:15: parse error: expected type range vector in call to function \""
        "min_over_time\", got instant vector"),
    ERR("min_over_time(\"a\")",
        "1:15: parse error: expected type range vector in call to function \""
        "min_over_time\", got string"),
    OK("minute(x)", "minute(x)"),
    ERR("minute(1)",
        "1:8: parse error: expected type instant vector in call to function "
        "\"minute\", got scalar"),
    ERR("minute(x[5m])",
        "1:8: parse error: expected type instant vector in call to function "
        "\"minute\", got range vector"),
    ERR("minute(\"a\")",
        "1:8: parse error: expected type instant vector in call to function "
        "\"minute\", got string"),
    OK("minute()", "minute()"),
    ERR("minute(x, x)",
        "1:1: parse error: expected at most 1 argument(s) in call to \"minute"
        "\", got 2"),
    OK("month(x)", "month(x)"),
    ERR("month(1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"month\", got scalar"),
    ERR("month(x[5m])",
        "1:7: parse error: expected type instant vector in call to function "
        "\"month\", got range vector"),
    ERR("month(\"a\")",
        "1:7: parse error: expected type instant vector in call to function "
        "\"month\", got string"),
    OK("month()", "month()"),
    ERR("month(x, x)",
        "1:1: parse error: expected at most 1 argument(s) in call to \"month"
        "\", got 2"),
    OK("pi()", "pi()"),
    OK("predict_linear(x[5m], 1)", "predict_linear(x[5m], 1)"),
    ERR("predict_linear(1, 1)",
        "1:16: parse error: expected type range vector in call to function \""
        "predict_linear\", got scalar"),
    ERR("predict_linear(x, 1)",
        "1:16: parse error: expected type range vector in call to function \""
        "predict_linear\", got instant vector"),
    ERR("predict_linear(\"a\", 1)",
        "1:16: parse error: expected type range vector in call to function \""
        "predict_linear\", got string"),
    ERR("predict_linear(x[5m], x)",
        "1:23: parse error: expected type scalar in call to function \"predic"
        "t_linear\", got instant vector"),
    ERR("predict_linear(x[5m], x[5m])",
        "1:23: parse error: expected type scalar in call to function \"predic"
        "t_linear\", got range vector"),
    ERR("predict_linear(x[5m], \"a\")",
        "1:23: parse error: expected type scalar in call to function \"predic"
        "t_linear\", got string"),
    OK("present_over_time(x[5m])", "present_over_time(x[5m])"),
    ERR("present_over_time(1)",
        "1:19: parse error: expected type range vector in call to function \""
        "present_over_time\", got scalar"),
    ERR("present_over_time(x)",
        "1:19: parse error: expected type range vector in call to function \""
        "present_over_time\", got instant vector"),
    ERR("present_over_time(\"a\")",
        "1:19: parse error: expected type range vector in call to function \""
        "present_over_time\", got string"),
    OK("quantile_over_time(1, x[5m])", "quantile_over_time(1, x[5m])"),
    ERR("quantile_over_time(x, x[5m])",
        "1:20: parse error: expected type scalar in call to function \"quanti"
        "le_over_time\", got instant vector"),
    ERR("quantile_over_time(x[5m], x[5m])",
        "1:20: parse error: expected type scalar in call to function \"quanti"
        "le_over_time\", got range vector"),
    ERR("quantile_over_time(\"a\", x[5m])",
        "1:20: parse error: expected type scalar in call to function \"quanti"
        "le_over_time\", got string"),
    ERR("quantile_over_time(1, 1)",
        "1:23: parse error: expected type range vector in call to function \""
        "quantile_over_time\", got scalar"),
    ERR("quantile_over_time(1, x)",
        "1:23: parse error: expected type range vector in call to function \""
        "quantile_over_time\", got instant vector"),
    ERR("quantile_over_time(1, \"a\")",
        "1:23: parse error: expected type range vector in call to function \""
        "quantile_over_time\", got string"),
    OK("rad(x)", "rad(x)"),
    ERR("rad(1)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"rad\", got scalar"),
    ERR("rad(x[5m])",
        "1:5: parse error: expected type instant vector in call to function "
        "\"rad\", got range vector"),
    ERR("rad(\"a\")",
        "1:5: parse error: expected type instant vector in call to function "
        "\"rad\", got string"),
    OK("rate(x[5m])", "rate(x[5m])"),
    ERR("rate(1)",
        "1:6: parse error: expected type range vector in call to function \"r"
        "ate\", got scalar"),
    ERR("rate(x)",
        "1:6: parse error: expected type range vector in call to function \"r"
        "ate\", got instant vector"),
    ERR("rate(\"a\")",
        "1:6: parse error: expected type range vector in call to function \"r"
        "ate\", got string"),
    OK("resets(x[5m])", "resets(x[5m])"),
    ERR("resets(1)",
        "1:8: parse error: expected type range vector in call to function \"r"
        "esets\", got scalar"),
    ERR("resets(x)",
        "1:8: parse error: expected type range vector in call to function \"r"
        "esets\", got instant vector"),
    ERR("resets(\"a\")",
        "1:8: parse error: expected type range vector in call to function \"r"
        "esets\", got string"),
    OK("round(x, 1)", "round(x, 1)"),
    ERR("round(1, 1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"round\", got scalar"),
    ERR("round(x[5m], 1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"round\", got range vector"),
    ERR("round(\"a\", 1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"round\", got string"),
    ERR("round(x, x)",
        "1:10: parse error: expected type scalar in call to function \"round"
        "\", got instant vector"),
    ERR("round(x, x[5m])",
        "1:10: parse error: expected type scalar in call to function \"round"
        "\", got range vector"),
    OK("round(x)", "round(x)"),
    ERR("round(x, 1, 1)",
        "1:1: parse error: expected at most 2 argument(s) in call to \"round"
        "\", got 3"),
    OK("scalar(x)", "scalar(x)"),
    ERR("scalar(1)",
        "1:8: parse error: expected type instant vector in call to function "
        "\"scalar\", got scalar"),
    ERR("scalar(x[5m])",
        "1:8: parse error: expected type instant vector in call to function "
        "\"scalar\", got range vector"),
    ERR("scalar(\"a\")",
        "1:8: parse error: expected type instant vector in call to function "
        "\"scalar\", got string"),
    OK("sgn(x)", "sgn(x)"),
    ERR("sgn(1)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"sgn\", got scalar"),
    ERR("sgn(x[5m])",
        "1:5: parse error: expected type instant vector in call to function "
        "\"sgn\", got range vector"),
    ERR("sgn(\"a\")",
        "1:5: parse error: expected type instant vector in call to function "
        "\"sgn\", got string"),
    OK("sin(x)", "sin(x)"),
    ERR("sin(1)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"sin\", got scalar"),
    ERR("sin(x[5m])",
        "1:5: parse error: expected type instant vector in call to function "
        "\"sin\", got range vector"),
    ERR("sin(\"a\")",
        "1:5: parse error: expected type instant vector in call to function "
        "\"sin\", got string"),
    OK("sinh(x)", "sinh(x)"),
    ERR("sinh(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sinh\", got scalar"),
    ERR("sinh(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sinh\", got range vector"),
    ERR("sinh(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sinh\", got string"),
    OK("sort(x)", "sort(x)"),
    ERR("sort(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sort\", got scalar"),
    ERR("sort(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sort\", got range vector"),
    ERR("sort(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sort\", got string"),
    OK("sort_desc(x)", "sort_desc(x)"),
    ERR("sort_desc(1)",
        "1:11: parse error: expected type instant vector in call to function "
        "\"sort_desc\", got scalar"),
    ERR("sort_desc(x[5m])",
        "1:11: parse error: expected type instant vector in call to function "
        "\"sort_desc\", got range vector"),
    ERR("sort_desc(\"a\")",
        "1:11: parse error: expected type instant vector in call to function "
        "\"sort_desc\", got string"),
    OK("sqrt(x)", "sqrt(x)"),
    ERR("sqrt(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sqrt\", got scalar"),
    ERR("sqrt(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sqrt\", got range vector"),
    ERR("sqrt(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sqrt\", got string"),
    OK("stddev_over_time(x[5m])", "stddev_over_time(x[5m])"),
    ERR("stddev_over_time(1)",
        "1:18: parse error: expected type range vector in call to function \""
        "stddev_over_time\", got scalar"),
    ERR("stddev_over_time(x)",
        "1:18: parse error: expected type range vector in call to function \""
        "stddev_over_time\", got instant vector"),
    ERR("stddev_over_time(\"a\")",
        "1:18: parse error: expected type range vector in call to function \""
        "stddev_over_time\", got string"),
    OK("stdvar_over_time(x[5m])", "stdvar_over_time(x[5m])"),
    ERR("stdvar_over_time(1)",
        "1:18: parse error: expected type range vector in call to function \""
        "stdvar_over_time\", got scalar"),
    ERR("stdvar_over_time(x)",
        "1:18: parse error: expected type range vector in call to function \""
        "stdvar_over_time\", got instant vector"),
    ERR("stdvar_over_time(\"a\")",
        "1:18: parse error: expected type range vector in call to function \""
        "stdvar_over_time\", got string"),
    OK("sum_over_time(x[5m])", "sum_over_time(x[5m])"),
    ERR("sum_over_time(1)",
        "1:15: parse error: expected type range vector in call to function \""
        "sum_over_time\", got scalar"),
    ERR("sum_over_time(x)",
        "1:15: parse error: expected type range vector in call to function \""
        "sum_over_time\", got instant vector"),
    ERR("sum_over_time(\"a\")",
        "1:15: parse error: expected type range vector in call to function \""
        "sum_over_time\", got string"),
    OK("tan(x)", "tan(x)"),
    ERR("tan(1)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"tan\", got scalar"),
    ERR("tan(x[5m])",
        "1:5: parse error: expected type instant vector in call to function "
        "\"tan\", got range vector"),
    ERR("tan(\"a\")",
        "1:5: parse error: expected type instant vector in call to function "
        "\"tan\", got string"),
    OK("tanh(x)", "tanh(x)"),
    ERR("tanh(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"tanh\", got scalar"),
    ERR("tanh(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"tanh\", got range vector"),
    ERR("tanh(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"tanh\", got string"),
    OK("time()", "time()"),
    OK("timestamp(x)", "timestamp(x)"),
    ERR("timestamp(1)",
        "1:11: parse error: expected type instant vector in call to function "
        "\"timestamp\", got scalar"),
    ERR("timestamp(x[5m])",
        "1:11: parse error: expected type instant vector in call to function "
        "\"timestamp\", got range vector"),
    ERR("timestamp(\"a\")",
        "1:11: parse error: expected type instant vector in call to function "
        "\"timestamp\", got string"),
    OK("vector(1)", "vector(1)"),
    ERR("vector(x)",
        "1:8: parse error: expected type scalar in call to function \"vector"
        "\", got instant vector"),
    ERR("vector(x[5m])",
        "1:8: parse error: expected type scalar in call to function \"vector"
        "\", got range vector"),
    ERR("vector(\"a\")",
        "1:8: parse error: expected type scalar in call to function \"vector"
        "\", got string"),
    OK("year(x)", "year(x)"),
    ERR("year(1)",
        "1:6: parse error: expected type instant vector in call to function "
        "\"year\", got scalar"),
    ERR("year(x[5m])",
        "1:6: parse error: expected type instant vector in call to function "
        "\"year\", got range vector"),
    ERR("year(\"a\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"year\", got string"),
    OK("year()", "year()"),
    ERR("year(x, x)",
        "1:1: parse error: expected at most 1 argument(s) in call to \"year\""
        ", got 2"),
    OK("SUM(x) BY (a)", "sum by (a) (x)"),
    OK("x AND y", "x and y"),
    OK("x Offset 5m", "x offset 5m"),
    OK("Inf + NAN", "+Inf + NaN"),
    OK("x OR on(a) y", "x or on (a) y"),
    OK("sum(x) WITHOUT (A, b)", "sum without (A, b) (x)"),
    OK("x\n+\n1 >\n2", "x + 1 > 2"),
    ERR("x +\n\n  foo(1)",
        "3:3: parse error: unknown function with name \"foo\""),
    ERR("1 +\n  \"a\"",
        "2:3: parse error: binary expression must contain only scalar and ins"
        "tant vector types"),
    OK("  \n  x{a=\"b\",\n c!~\"d\"}\n[5m]", "x{a=\"b\",c!~\"d\"}[5m]"),
    OK("rate(\n x[5m]\n)\n[1h:]\n@ 10", "rate(x[5m])[1h:] @ 10.000"),
    OK("x{a=\"é\"}", "x{a=\"é\"}"),
    OK("\"héllo\\u00e9\"", "\"hélloé\""),
    OK("\"\\a\\b\\f\\v\\r\"", "\"\\a\\b\\f\\v\\r\""),
    OK("\"tab\there\"", "\"tab\\there\""),
    OK("'single \"quoted\"'", "\"single \\\"quoted\\\"\""),
    OK("`back\\slash`", "\"back\\\\slash\""),
    ERR("\"\\x4\"",
        "1:1: parse error: illegal character U+0022 '\"' in escape sequence"),
    ERR("\"\\xZZ\"",
        "1:1: parse error: illegal character U+005A 'Z' in escape sequence"),
    ERR("\"\\u12\"",
        "1:1: parse error: illegal character U+0022 '\"' in escape sequence"),
    ERR("\"\\U0011FFFF\"",
        "1:1: parse error: escape sequence is an invalid Unicode code point"),
    ERR("\"\\8\"", "1:1: parse error: unknown escape sequence U+0038 '8'"),
    ERR("\"\\400\"",
        "1:1: parse error: escape sequence is an invalid Unicode code point"),
    ERR("\"\\q\"", "1:1: parse error: unknown escape sequence U+0071 'q'"),
    OK("x{a=\"1\"} == bool on() group_left x",
       "x{a=\"1\"} == bool on () group_left () x"),
    OK("x * on() y", "x * on () y"),
    OK("x * ignoring() group_right(a) y", "x * y"),
    OK("x unless ignoring(a) y", "x unless ignoring (a) y"),
    ERR("x or on(a) group_right y",
        "1:1: parse error: no grouping allowed for \"or\" operation"),
    ERR("x atan2 bool y",
        "1:3: parse error: bool modifier can only be used on comparison opera"
        "tors"),
    OK("1 atan2 2", "1 atan2 2"),
    ERR("1 == 1",
        "1:3: parse error: comparisons between scalars must use BOOL modifier"),
    ERR("\"a\" == \"b\"",
        "1:1: parse error: binary expression must contain only scalar and ins"
        "tant vector types"),
    OK("x > bool 1", "x > bool 1"),
    OK("(1 > bool 2) > bool 3", "(1 > bool 2) > bool 3"),
    OK("topk(scalar(x), x)", "topk(scalar(x), x)"),
    ERR("count_values(\"a\", 1)",
        "1:19: parse error: expected type instant vector in aggregation expre"
        "ssion, got scalar"),
    ERR("count_values(x, x)",
        "1:14: parse error: expected type string in aggregation parameter, go"
        "t instant vector"),
    ERR("quantile(\"a\", x)",
        "1:10: parse error: expected type scalar in aggregation parameter, go"
        "t string"),
    ERR("sum(1)",
        "1:5: parse error: expected type instant vector in aggregation expres"
        "sion, got scalar"),
    ERR("sum(\"a\")",
        "1:5: parse error: expected type instant vector in aggregation expres"
        "sion, got string"),
    OK("sum(x) by (a) + on(a) group_left(b) sum(y) by (a, b)",
       "sum by (a) (x) + on (a) group_left (b) sum by (a, b) (y)"),
    OK("avg(rate(x[5m])) by (job) > 0.5", "avg by (job) (rate(x[5m])) > 0.5"),
    OK("max_over_time(rate(x[5m])[1h:1m])",
       "max_over_time(rate(x[5m])[1h:1m])"),
    OK("min_over_time(x[5m:])", "min_over_time(x[5m:])"),
    OK("x[5m:1m] @ start()", "x[5m:1m] @ start()"),
    OK("(x)[5m:1m] offset 1h", "(x)[5m:1m] offset 1h"),
    OK("sum_over_time(x[1h] offset 1d)", "sum_over_time(x[1h] offset 1d)"),
    OK("x @ 1609746000", "x @ 1609746000.000"),
    OK("x @ 1609746000.123456", "x @ 1609746000.123"),
    OK("x @ -0.0005", "x @ -0.001"),
    OK("x @ 0.0005", "x @ 0.001"),
    OK("-0", "-0"),
    OK("-0.0", "-0"),
    OK("1e-4", "0.0001"),
    OK("0.1 + 0.2", "0.1 + 0.2"),
    OK("1.7976931348623157e308", "1.7976931348623157e+308"),
    OK("5e-324", "5e-324"),
    OK("2.5e-5", "2.5e-05"),
    OK("100000.5", "100000.5"),
    OK("123456.7", "123456.7"),
    OK("999999", "999999"),
    OK("1000000.5", "1.0000005e+06"),
    OK("0.000123", "0.000123"),

    /* Every operator, every duration unit, malformed input */
    OK("a + b", "a + b"),
    OK("a - b", "a - b"),
    OK("a * b", "a * b"),
    OK("a / b", "a / b"),
    OK("a % b", "a % b"),
    OK("a ^ b", "a ^ b"),
    OK("a atan2 b", "a atan2 b"),
    OK("a == b", "a == b"),
    OK("a != b", "a != b"),
    OK("a > b", "a > b"),
    OK("a < b", "a < b"),
    OK("a >= b", "a >= b"),
    OK("a <= b", "a <= b"),
    OK("a and b", "a and b"),
    OK("a or b", "a or b"),
    OK("a unless b", "a unless b"),
    OK("a == bool b", "a == bool b"),
    OK("a != bool b", "a != bool b"),
    OK("a > bool b", "a > bool b"),
    OK("a < bool b", "a < bool b"),
    OK("a >= bool b", "a >= bool b"),
    OK("a <= bool b", "a <= bool b"),
    OK("1 + 2", "1 + 2"),
    OK("1 - 2", "1 - 2"),
    OK("2 * 3", "2 * 3"),
    OK("1 / 0", "1 / 0"),
    OK("5 % 3", "5 % 3"),
    OK("2 ^ 10", "2 ^ 10"),
    OK("1 >= bool 2", "1 >= bool 2"),
    OK("1 <= bool 2", "1 <= bool 2"),
    OK("1 != bool 2", "1 != bool 2"),
    OK("1 < bool 2", "1 < bool 2"),
    ERR("a + bool b",
        "1:3: parse error: bool modifier can only be used on comparison opera"
        "tors"),
    ERR("a and bool b",
        "1:3: parse error: bool modifier can only be used on comparison opera"
        "tors"),
    OK("a / on(x) b", "a / on (x) b"),
    OK("a - ignoring(x, y) group_left(z) b",
       "a - ignoring (x, y) group_left (z) b"),
    OK("x[1y]", "x[1y]"),
    OK("x[2w]", "x[2w]"),
    OK("x[3d]", "x[3d]"),
    OK("x[4h]", "x[4h]"),
    OK("x[5m]", "x[5m]"),
    OK("x[6s]", "x[6s]"),
    OK("x[7ms]", "x[7ms]"),
    OK("x[1y2w3d4h5m6s7ms]", "x[382d4h5m6s7ms]"),
    OK("x[60s]", "x[1m]"),
    OK("x[3600s]", "x[1h]"),
    OK("x[1000ms]", "x[1s]"),
    OK("x[365d]", "x[1y]"),
    OK("x[7d]", "x[1w]"),
    OK("x[1h60m]", "x[2h]"),
    ERR("x[5h5h]", "1:3: parse error: not a valid duration string: \"5h5h\""),
    ERR("x[5ms5s]", "1:3: parse error: not a valid duration string: \"5ms5s\""),
    ERR("x[5M]", "1:3: parse error: bad duration syntax: \"5\""),
    ERR("x[5sm]", "1:3: parse error: bad duration syntax: \"5sm\""),
    ERR("x[5hs]", "1:3: parse error: not a valid duration string: \"5hs\""),
    ERR("x[99999999999999999999y]", "1:3: parse error: duration out of range"),
    ERR("x[300y]", "1:3: parse error: duration out of range"),
    ERR("x[0ms]", "1:3: parse error: duration must be greater than 0"),
    ERR("x offset 0s", "1:10: parse error: duration must be greater than 0"),
    ERR("x[5m:0s]", "1:6: parse error: duration must be greater than 0"),
    OK("x[ 5m ]", "x[5m]"),
    OK("x[5m : 1m]", "x[5m:1m]"),
    OK("x [5m]", "x[5m]"),
    ERR("x[5m] [5m]",
        "1:7: parse error: ranges only allowed for vector selectors"),
    ERR("x[5m:][5m:]",
        "1:1: parse error: subquery is only allowed on instant vector, got ma"
        "trix instead"),
    OK("abs(x)[5m:1m]", "abs(x)[5m:1m]"),
    OK("x{a=\"b\"}[5m] offset -1w", "x{a=\"b\"}[5m] offset -1w"),
    OK("foo:bar:baz", "foo:bar:baz"),
    OK(":foo", ":foo"),
    OK("foo_bar123", "foo_bar123"),
    OK("_x", "_x"),
    OK("x{_a=\"1\"}", "x{_a=\"1\"}"),
    OK("x{a1_B=\"1\"}", "x{a1_B=\"1\"}"),
    ERR("x{a=\"b\"}{c=\"d\"}", "1:9: parse error: unexpected \"{\""),
    ERR("x{a=\"b\"}x", "1:9: parse error: unexpected identifier \"x\""),
    ERR("{,}",
        "1:2: parse error: unexpected \",\" in label matching, expected ident"
        "ifier or \"}\""),
    ERR("{a=\"b\"}}", "1:8: parse error: unexpected character: '}'"),
    ERR("x}", "1:2: parse error: unexpected character: '}'"),
    ERR("]", "1:1: parse error: unexpected right bracket ']'"),
    ERR("[", "1:1: parse error: unexpected \"[\""),
    ERR("x[", "1:3: parse error: missing unit character in duration"),
    ERR("x[5m:", "1:6: parse error: unclosed left bracket"),
    ERR("x[5m:1m", "1:8: parse error: unclosed left bracket"),
    ERR("x{a=\"b\"}[", "1:10: parse error: missing unit character in duration"),
    ERR("x @",
        "1:4: parse error: unexpected end of input in @, expected timestamp"),
    ERR("@ 1", "1:1: parse error: unexpected \"<Item 57385>\" <op:@>"),
    ERR("offset 5m", "1:8: parse error: unexpected duration \"5m\""),
    ERR("x offset 5m offset",
        "1:19: parse error: unexpected end of input in offset, expected durat"
        "ion"),
    ERR("1 2", "1:3: parse error: unexpected number \"2\""),
    ERR("\"a\" \"b\"", "1:5: parse error: unexpected string \"\\\"b\\\"\""),
    ERR("((x)", "1:5: parse error: unclosed left parenthesis"),
    ERR("(x))", "1:5: parse error: unexpected right parenthesis ')'"),
    ERR("x,y", "1:2: parse error: unexpected \",\""),
    ERR(",", "1:1: parse error: unexpected \",\""),
    ERR(";", "1:1: parse error: unexpected character: ';'"),
    ERR("x;", "1:2: parse error: unexpected character: ';'"),
    ERR("~", "1:1: parse error: unexpected character: '~'"),
    ERR("x!y", "1:2: parse error: unexpected character after '!': 'y'"),
    ERR("x ! = y", "1:3: parse error: unexpected character after '!': ' '"),
    ERR("x = y", "1:3: parse error: unexpected \"=\""),
    ERR("x == = y", "1:6: parse error: unexpected \"=\""),
    ERR("x <> y", "1:4: parse error: unexpected <op:>>"),
    ERR("x => y", "1:3: parse error: unexpected \"=\""),
    ERR("x =! y", "1:3: parse error: unexpected \"=\""),
    ERR("sum(x) by",
        "1:10: parse error: unexpected end of input in grouping opts, expecte"
        "d \"(\""),
    ERR("sum(x) by(", "1:11: parse error: unclosed left parenthesis"),
    ERR("sum(x) by (", "1:12: parse error: unclosed left parenthesis"),
    ERR("sum(x) by (a", "1:13: parse error: unclosed left parenthesis"),
    ERR("sum(x) by (a,", "1:14: parse error: unclosed left parenthesis"),
    ERR("sum(x) by (\"a\")",
        "1:12: parse error: unexpected string \"\\\"a\\\"\" in grouping opts,"
        " expected label"),
    ERR("sum(x) by (1)",
        "1:12: parse error: unexpected number \"1\" in grouping opts, expecte"
        "d label"),
    ERR("sum(x) by (a b)",
        "1:14: parse error: unexpected identifier \"b\" in grouping opts, exp"
        "ected \",\" or \")\""),
    ERR("sum(x) without",
        "1:15: parse error: unexpected end of input in grouping opts, expecte"
        "d \"(\""),
    ERR("topk(,x)", "1:6: parse error: unexpected \",\" in aggregation"),
    ERR("topk(1,,x)",
        "1:7: parse error: trailing commas not allowed in function call args"),
    ERR("rate(x[5m]", "1:11: parse error: unclosed left parenthesis"),
    ERR("rate(,)", "1:6: parse error: unexpected \",\""),
    ERR("rate()",
        "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 0"),
    ERR("rate(x[5m]) by (a)", "1:13: parse error: unexpected <by>"),
    ERR("x{a=~\"[\"}",
        "1:3: parse error: error parsing regexp: missing closing ]: `[)$`"),
    ERR("x{a=~\"a)\"}",
        "1:3: parse error: error parsing regexp: unexpected ): `^(?:a))$`"),
    ERR("x{a=~\"*\"}",
        "1:3: parse error: error parsing regexp: missing argument to repetiti"
        "on operator: `*`"),
    OK("x{a!~\".*\",b=\"\"}", "x{a!~\".*\",b=\"\"}"),
    OK("x{a!~\".+\"}", "x{a!~\".+\"}"),
    ERR("{a!~\".+\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    OK("{a!=\"\"}", "{a!=\"\"}"),
    ERR("{a!=\"x\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    ERR("{a=~\"\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    OK("{a!~\"\"}", "{a!~\"\"}"),
    ERR("{a=~\"x|\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    ERR("{a=~\"x?\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    ERR("{a=~\"(x)*\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    ERR("{__name__!=\"x\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),
    ERR("{__name__=\"\"}",
        "1:1: parse error: vector selector must contain at least one non-empt"
        "y matcher"),

    /* Trailing commas; regular expression errors */
    ERR("rate(x, *)",
        "1:7: parse error: trailing commas not allowed in function call args"),
    ERR("rate(x, )",
        "1:7: parse error: trailing commas not allowed in function call args"),
    ERR("rate(x, ,)",
        "1:7: parse error: trailing commas not allowed in function call args"),
    ERR("x{a=~\"+a\"}",
        "1:3: parse error: error parsing regexp: missing argument to repetiti"
        "on operator: `+`"),
    ERR("x{a=~\"?\"}",
        "1:3: parse error: error parsing regexp: missing argument to repetiti"
        "on operator: `?`"),
    ERR("x{a=~\"a|*\"}",
        "1:3: parse error: error parsing regexp: missing argument to repetiti"
        "on operator: `*`"),
    ERR("x{a=~\"(*)\"}",
        "1:3: parse error: error parsing regexp: missing argument to repetiti"
        "on operator: `*`"),
    ERR("x{a=~\"{2}\"}",
        "1:3: parse error: error parsing regexp: missing argument to repetiti"
        "on operator: `{2}`"),
    ERR("x{a=~\"a**\"}",
        "1:3: parse error: error parsing regexp: invalid nested repetition op"
        "erator: `**`"),
    ERR("x{a=~\"[a\"}",
        "1:3: parse error: error parsing regexp: missing closing ]: `[a)$`"),
    ERR("x{a=~\"b[a\"}",
        "1:3: parse error: error parsing regexp: missing closing ]: `[a)$`"),
    ERR("x{a=~\"[]a\"}",
        "1:3: parse error: error parsing regexp: missing closing ]: `[]a)$`"),
    ERR("x{a=~\"[^]a\"}",
        "1:3: parse error: error parsing regexp: missing closing ]: `[^]a)$`"),
    ERR("x{a=~\"\\\\\"}",
        "1:3: parse error: error parsing regexp: missing closing ): `^(?:\\)$"
        "`"),
    ERR("x{a=~\"(?=a)\"}",
        "1:3: parse error: error parsing regexp: invalid or unsupported Perl "
        "syntax: `(?=`"),
    ERR("x{a=~\"a{2,1}\"}",
        "1:3: parse error: error parsing regexp: invalid repeat count: `{2,1}"
        "`"),
    ERR("x{a=~\"\\\\1\"}",
        "1:3: parse error: error parsing regexp: invalid escape sequence: `\\"
        "1`"),
    OK("x{a=~\"(?P<n>a)\"}", "x{a=~\"(?P<n>a)\"}"),
    ERR("x{a=~\"[z-a]\"}",
        "1:3: parse error: error parsing regexp: invalid character class rang"
        "e: `z-a`"),

    /* Random queries, one per distinct error, and some valid ones */
    ERR("group(.5, Inf)",
        "1:1: parse error: wrong number of arguments for aggregate expression"
        " provided, expected 1, got 2"),
    ERR("n[", "1:3: parse error: missing unit character in duration"),
    ERR("1[1d]", "1:2: parse error: ranges only allowed for vector selectors"),
    ERR(".", "1:1: parse error: unexpected character: '.'"),
    ERR("\"é\" by ", "1:6: parse error: unexpected <by>"),
    ERR("I f", "1:3: parse error: unexpected identifier \"f\""),
    ERR("topk(Inf{,})", "1:9: parse error: unexpected \"{\" in aggregation"),
    ERR("i()", "1:1: parse error: unknown function with name \"i\""),
    ERR("u@p",
        "1:3: parse error: unexpected identifier \"p\" in @, expected timesta"
        "mp"),
    ERR("{,",
        "1:2: parse error: unexpected \",\" in label matching, expected ident"
        "ifier or \"}\""),
    ERR(".5[1y{] @ 100",
        "1:6: parse error: unexpected \"{\" in subquery or range, expected \""
        ":\" or \"]\""),
    ERR("x : ", "1:3: parse error: unexpected metric identifier \":\""),
    ERR("-51@ 1.5",
        "1:2: parse error: @ modifier must be preceded by an instant vector s"
        "elector or range vector selector or a subquery"),
    ERR("1[0s]", "1:3: parse error: duration must be greater than 0"),
    ERR("{1", "1:2: parse error: unexpected character inside braces: '1'"),
    ERR("b[y", "1:3: parse error: not a valid duration string: \"y\""),
    ERR("*", "1:1: parse error: unexpected <op:*>"),
    ERR("x{__name__=`z`,}",
        "1:1: parse error: metric name must not be set twice: \"x\" or \"z\""),
    ERR("ta[t", "1:4: parse error: bad duration syntax: \"\""),
    ERR("sum (1)",
        "1:6: parse error: expected type instant vector in aggregation expres"
        "sion, got scalar"),
    ERR("-\"s\"",
        "1:1: parse error: unary expression only allowed on expressions of ty"
        "pe scalar or instant vector, got \"string\""),
    ERR("0 without ", "1:3: parse error: unexpected <without>"),
    ERR("!", "1:1: parse error: unexpected character after '!': '�'"),
    ERR("pi(foo:bar, nan)",
        "1:1: parse error: expected 0 argument(s) in call to \"pi\", got 2"),
    ERR("offset <= bool on(job, a, le,@) sum[d:][30s][1d]",
        "1:30: parse error: unexpected \"<Item 57385>\" <op:@> in grouping op"
        "ts, expected label"),
    ERR("{{", "1:2: parse error: unexpected left brace '{'"),
    ERR("sum by (,) (Inf)",
        "1:9: parse error: unexpected \",\" in grouping opts, expected label"),
    ERR("-1 offset 1h",
        "1:2: parse error: offset modifier must be preceded by an instant vec"
        "tor selector or range vector selector or a subquery"),
    ERR("'q\\''-1",
        "1:1: parse error: binary expression must contain only scalar and ins"
        "tant vector types"),
    ERR("x{job=~}",
        "1:8: parse error: unexpected \"}\" in label matching, expected strin"
        "g"),
    ERR("pi(b)",
        "1:1: parse error: expected 0 argument(s) in call to \"pi\", got 1"),
    ERR("group_left", "1:1: parse error: unexpected <group_left>"),
    ERR("topk by (a,)m=(vector())",
        "1:13: parse error: unexpected identifier \"m\" in aggregation"),
    ERR(")", "1:2: parse error: unexpected right parenthesis ')'"),
    ERR("by[5m] offset 5",
        "1:15: parse error: unexpected number \"5\" in offset, expected durat"
        "ion"),
    ERR("+sum <= bool bottomk(foo :bar) by (job,))[0s:]",
        "1:26: parse error: unexpected metric identifier \":bar\" in aggregat"
        "ion"),
    ERR("abs(.5, and{})",
        "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 2"),
    ERR("offset{b\".+\",}",
        "1:9: parse error: unexpected string \"\\\".+\\\"\" in label matching"
        ", expected label matching operator"),
    ERR("1x3", "1:1: parse error: bad number or duration syntax: \"1\""),
    ERR("group(and{}[1y])",
        "1:7: parse error: expected type instant vector in aggregation expres"
        "sion, got range vector"),
    ERR("sum by () (2.5 * bool group_right(,) foo:bar)[0s] offset 5m",
        "1:23: parse error: unexpected <group_right> in aggregation"),
    ERR("rate( x10)",
        "1:7: parse error: expected type range vector in call to function \"r"
        "ate\", got instant vector"),
    ERR("5m", "1:1: parse error: unexpected duration \"5m\""),
    ERR("abs()",
        "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 0"),
    ERR("1 + bool group_right \"s\"",
        "1:10: parse error: unexpected <group_right>"),
    ERR("\"", "1:1: parse error: unterminated quoted string"),
    ERR(".5 >= on(le) and",
        "1:1: parse error: vector matching only allowed between instant vecto"
        "rs"),
    ERR("up{a!\"\",}",
        "1:5: parse error: unexpected character after '!' inside braces: '\"'"),
    ERR("{", "1:2: parse error: unexpected end of input inside braces"),
    ERR("(abs(.5,, Inf))",
        "1:8: parse error: trailing commas not allowed in function call args"),
    ERR("up[30s] @ 100 @ 1.5",
        "1:1: parse error: @ <timestamp> may not be set multiple times"),
    ERR("label_replace()",
        "1:1: parse error: expected 5 argument(s) in call to \"label_replace"
        "\", got 0"),
    ERR("clamp()",
        "1:1: parse error: expected 3 argument(s) in call to \"clamp\", got 0"),
    ERR("1@",
        "1:3: parse error: unexpected end of input in @, expected timestamp"),
    ERR("1 >= bool ignoring(sum job, le) nan",
        "1:24: parse error: unexpected identifier \"job\" in grouping opts, e"
        "xpected \",\" or \")\""),
    ERR("Inf > (bottomk by (a,) (-1 + group_left 2.5))",
        "1:30: parse error: unexpected <group_left> in aggregation"),
    ERR("sum by (le() (max(-1)[ \"s\"[1y])[1d:1m]",
        "1:11: parse error: unexpected \"(\" in grouping opts, expected \",\""
        " or \")\""),
    ERR("quantile_over_time(1)",
        "1:1: parse error: expected 2 argument(s) in call to \"quantile_over_"
        "time\", got 1"),
    ERR("/", "1:1: parse error: unexpected <op:/>"),
    ERR("{Inf start()!~",
        "1:6: parse error: unexpected identifier \"start\" in label matching,"
        " expected label matching operator"),
    ERR("by atan2 ignoring(on, job, a) group_right(sum, b, le, topk without ("
        "le,) (2.5[100ms] offset 5m)[0s:1m]",
        "1:60: parse error: unexpected <without> in grouping opts, expected "
        "\",\" or \")\""),
    ERR("+label_join(1e3)",
        "1:2: parse error: expected at least 3 argument(s) in call to \"label"
        "_join\", got 1"),
    ERR("holt_winters(by{})",
        "1:1: parse error: expected 3 argument(s) in call to \"holt_winters\""
        ", got 1"),
    ERR("`", "1:1: parse error: unterminated raw string"),
    ERR("label_replace(Inf, histogram_quantile(1)[100ms:1m])",
        "1:1: parse error: expected 5 argument(s) in call to \"label_replace"
        "\", got 2"),
    ERR("start{a!~'y', __name__=\"\", b!'y',}",
        "1:29: parse error: unexpected character after '!' inside braces: '\\"
        "''"),
    ERR("sum{job}!~`z`}",
        "1:8: parse error: unexpected \"}\" in label matching, expected label"
        " matching operator"),
    ERR("1 3", "1:3: parse error: unexpected number \"3\""),
    ERR("+start{}[1w @ 100[5]",
        "1:13: parse error: unexpected \"<Item 57385>\" <op:@> in subquery or"
        " range, expected \":\" or \"]\""),
    ERR("by{b=x\"x}",
        "1:6: parse error: unexpected identifier \"x\" in label matching, exp"
        "ected string"),
    ERR("x[5m:][100ms:]",
        "1:1: parse error: subquery is only allowed on instant vector, got ma"
        "trix instead"),
    ERR("sum offset 1h[1w][5] @ 100",
        "1:14: parse error: no offset modifiers allowed before range"),
    ERR("-offset{b!=\"!x\", j\"ob!~\".+\",}[1h] offset 5m",
        "1:19: parse error: unexpected string \"\\\"ob!~\\\"\" in label match"
        "ing, expected label matching operator"),
    ERR("histogram_quantile(group(stddev(up, I,f) <= bool absent_over_time(by"
        ", and, nan), x{job=~\"x\", b=~\"a|b\"}[1d:][30s] @ 100))",
        "1:26: parse error: wrong number of arguments for aggregate expressio"
        "n provided, expected 1, got 3"),
    ERR("round()",
        "1:1: parse error: expected at least 1 argument(s) in call to \"round"
        "\", got 0"),
    ERR("label_join(0x10, up{})[1w:1m]",
        "1:1: parse error: expected at least 3 argument(s) in call to \"label"
        "_join\", got 2"),
    ERR("sum{job!~\"\", b=~\"\"}[1h30m] @* 100[1h:] + bool Inf @ 1.5 == (1e3["
        "1h30m] offset 5m)",
        "1:29: parse error: unexpected <op:*> in @, expected timestamp"),
    ERR("x{} offset x1h ",
        "1:12: parse error: unexpected identifier \"x1h\" in offset, expected"
        " duration"),
    ERR("label_join()",
        "1:1: parse error: expected at least 3 argument(s) in call to \"label"
        "_join\", got 0"),
    ERR("{ != ",
        "1:3: parse error: unexpected <op:!=> in label matching, expected ide"
        "ntifier or \"}\""),
    ERR("x[1d", "1:5: parse error: unclosed left bracket"),
    ERR("{ms`r\\a` ",
        "1:4: parse error: unexpected string \"`r\\\\a`\" in label matching, "
        "expected label matching operator"),
    ERR("+", "1:2: parse error: unexpected end of input"),
    ERR("stddev (offset  stddev (by{}, Inf)[1.5m:])[5m] @ 100",
        "1:17: parse error: unexpected <aggr:stddev> in aggregation"),
    ERR("(um@ 1.5[1h30m])[0s]",
        "1:9: parse error: no @ modifiers allowed before range"),
    ERR("max(\"s\")",
        "1:5: parse error: expected type instant vector in aggregation expres"
        "sion, got string"),
    ERR("by{__name__!~\".*:, __name__!=\"\",} % nan / count_values without ()"
        " (-rate(by{b!~\".*\",}, -1, -1)~ up{})",
        "1:31: parse error: unexpected string \"\\\",} % nan \"... in label m"
        "atching, expected \",\" or \"}\""),
    ERR("histogram_quantile()",
        "1:1: parse error: expected 2 argument(s) in call to \"histogram_quan"
        "tile\", got 0"),
    ERR("{jo!=\"\"x\"}",
        "1:8: parse error: unexpected identifier \"x\" in label matching, exp"
        "ected \",\" or \"}\""),
    ERR("of+fset{}@ @ 1.5",
        "1:12: parse error: unexpected \"<Item 57385>\" <op:@> in @, expected"
        " timestamp"),
    ERR("abs(by{b=\"x\", b!~`z`}[1w], foo:bar, up)",
        "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 3"),
    ERR("-2.5[1h[", "1:8: parse error: unexpected left bracket '['"),
    ERR("(x{b=~\"x\", __nam\"e__!~`z`, a!=\".+\"}[30s])",
        "1:17: parse error: unexpected string \"\\\"e__!~`z`,\"... in label m"
        "atching, expected label matching operator"),
    ERR("up[1d:1,m]",
        "1:7: parse error: unexpected number \"1\" in subquery selector, expe"
        "cted duration or \"]\""),
    ERR(".5 % bool -1",
        "1:4: parse error: bool modifier can only be used on comparison opera"
        "tors"),
    ERR("^", "1:1: parse error: unexpected <op:^>"),
    ERR("0x1f and Inf ",
        "1:1: parse error: set operator \"and\" not allowed in binary scalar "
        "expression"),
    ERR("sum(offset{__name__!~\".*\"}1d:1m] % on(le, b) up{job='y', __name__="
        "\"a|b\", __name__!~\"a|b\"}[1y] @ 100) by (b le, job)[1.5m:1m]",
        "1:27: parse error: unexpected duration \"1d\" in aggregation"),
    ERR("topk by ,) (Inf * max(1)[1d:1m]}",
        "1:9: parse error: unexpected \",\" in grouping opts, expected \"(\""),
    ERR("-1@[1d",
        "1:4: parse error: unexpected \"[\" in @, expected timestamp"),
    ERR("stddev(start{b=`z`, job!=\"\", b!~\"a|b\"}, offset > bool x{} and ig"
        "noring(job, le, b,) group_left (1) ^ bool on(le, job) Inf[1y] @ 100["
        "1h30m:]) without (,)",
        "1:97: parse error: unexpected number \"1\" in grouping opts, expecte"
        "d label"),
    ERR("foo(> bool on(sum,) -1 offset 1h",
        "1:5: parse error: unexpected <op:>>"),
    ERR("(sum offset -/5m)",
        "1:14: parse error: unexpected <op:/> in offset, expected duration"),
    ERR("by{a!='y'=, a='y', b!~``,}",
        "1:10: parse error: unexpected \"=\" in label matching, expected \","
        "\" or \"}\""),
    ERR("\"s\"[30s:]",
        "1:1: parse error: subquery is only allowed on instant vector, got st"
        "ring instead"),
    ERR("stddev without on, sum) ~(nan)",
        "1:16: parse error: unexpected <on> in grouping opts, expected \"(\""),
    ERR("clamp(+sort(), sum)",
        "1:1: parse error: expected 3 argument(s) in call to \"clamp\", got 2"),
    ERR("round(-1)",
        "1:7: parse error: expected type instant vector in call to function "
        "\"round\", got scalar"),
    ERR("quantile_over_time(start, -1)",
        "1:20: parse error: expected type scalar in call to function \"quanti"
        "le_over_time\", got instant vector"),
    ERR("1 <= on(b, job, sum,) 0x10",
        "1:3: parse error: comparisons between scalars must use BOOL modifier"),
    ERR("m\"s\"", "1:2: parse error: unexpected string \"\\\"s\\\"\""),
    ERR("topk(offset) by sum, a)",
        "1:17: parse error: unexpected <aggr:sum> in grouping opts, expected "
        "\"(\""),
    ERR("bottomk by^ (le, on) (++.5 and start{,})",
        "1:11: parse error: unexpected <op:^> in grouping opts, expected \"("
        "\""),
    ERR("and{job=!~`z`, b=~\"+\",}[30s]",
        "1:9: parse error: unexpected <op:!~> in label matching, expected str"
        "ing"),
    ERR("-1[1d::m]", "1:7: parse error: unexpected colon ':'"),
    ERR("(avg (1 * on(b, on, job) nan)) % b:ol max(x, (nan))",
        "1:39: parse error: unexpected <aggr:max>"),
    ERR("ad != on(a, b,) group_left(b, on, job) 2.5[1y:][1w:=m] == bool group"
        "_right(on, sum,) x{b=~\"x\", job=~'y',}",
        "1:52: parse error: unexpected \"=\" in subquery selector, expected d"
        "uration or \"]\""),
    ERR("{b!~'', __name__=~\"a|b\", a!~\"a|(\"}",
        "1:26: parse error: error parsing regexp: missing closing ): `^(?:a|("
        ")$`"),
    ERR("(abs(+group(0x10, offset without (a, on,)))",
        "1:26: parse error: unexpected <without> in aggregation"),
    ERR("and[1h:] and b\"ool max(sum{a=\"\", a!~\"\",})[1h30m:]",
        "1:15: parse error: unexpected string \"\\\"ool max(s\"..."),
    ERR("by[1h] offset =5m",
        "1:15: parse error: unexpected \"=\" in offset, expected duration"),
    ERR("!=", "1:1: parse error: unexpected <op:!=>"),
    ERR("label_replace(up)",
        "1:1: parse error: expected 5 argument(s) in call to \"label_replace"
        "\", got 1"),
    ERR("count_values((group(start{a=~\".+\", __name__=`z`, a!~\"x\"}, (by{a="
        "~\"x\", __name__=\".*\", __name__=\".*\"}) by (yb, le, sum)), Inf[1h"
        "30m:][5m] offset 5m) @ 1.5",
        "1:102: parse error: unexpected <by> in aggregation"),
    ERR("(topk without (b, sum,) (x, up))",
        "1:26: parse error: expected type scalar in aggregation parameter, go"
        "t instant vector"),
    ERR("x[1d] offset 5m offset -5m",
        "1:1: parse error: offset may not be set multiple times"),
    ERR("sum`{a!~\".+\", b!~`z~`,}",
        "1:4: parse error: unexpected string \"`{a!~\\\".+\\\",\"..."),
    ERR("sum(1e3, (quantileby (on) (Inf{,}, sum{}))[1y]) by- (on, job)",
        "1:23: parse error: unexpected <on> in aggregation"),
    ERR("by{job\".*\", job!=\"\"}[1[h] offset 5m",
        "1:7: parse error: unexpected string \"\\\".*\\\"\" in label matching"
        ", expected label matching operator"),
    ERR("sort(\"s\")",
        "1:6: parse error: expected type instant vector in call to function "
        "\"sort\", got string"),
    ERR("rate(Inf)",
        "1:6: parse error: expected type range vector in call to function \"r"
        "ate\", got scalar"),
    ERR("sum[1h1m^]",
        "1:9: parse error: unexpected <op:^> in subquery or range, expected "
        "\":\" or \"]\""),
    ERR("(and) - label_join(start, x{}, Inf) or (up and x) and bool ignoring("
        "b, job, on,) up{a=~\".*\", b!=`z`,}",
        "1:27: parse error: expected type string in call to function \"label_"
        "join\", got instant vector"),
    ERR("up{__name__!~\"[+\", b=~\"~.+\",}",
        "1:4: parse error: error parsing regexp: missing closing ]: `[+)$`"),
    ERR("{=~ `{ #c\n ",
        "1:2: parse error: unexpected <op:=~> in label matching, expected ide"
        "ntifier or \"}\""),
    ERR("abs(sum{a=~`z`, b!='y'}[1w:] offset -5m)",
        "1:5: parse error: expected type instant vector in call to function "
        "\"abs\", got range vector"),
    ERR("time(sum, Inf, 1)",
        "1:1: parse error: expected 0 argument(s) in call to \"time\", got 3"),
    ERR("quantile(2..5) by (le, sum, on)",
        "1:12: parse error: unexpected number \".5\" in aggregation"),
    ERR("max (^nan{__name__=\".+\", a=~\"\",}, max(Inf)[1h30m] > ignoring() ("
        "sum{job=~\".+\", b!=\"x,}[1y]))",
        "1:6: parse error: unexpected <op:^> in aggregation"),
    ERR("day_of_week(1, x{b=\".+\"})",
        "1:1: parse error: expected at most 1 argument(s) in call to \"day_of"
        "_week\", got 2"),
    ERR("(Inf ^ bool ignoring(a, on, sum) and[1y] offset *5m offset -5mm)",
        "1:49: parse error: unexpected <op:*> in offset, expected duration"),
    ERR("(avg by (:e, job,) (and offset- -5m, start)[5] offset 5m)",
        "1:10: parse error: unexpected metric identifier \":e\" in grouping o"
        "pts, expected label"),
    ERR("{ #c\n!~ ",
        "2:1: parse error: unexpected <op:!~> in label matching, expected ide"
        "ntifier or \"}\""),
    ERR("and{job=~\"*\"}",
        "1:5: parse error: error parsing regexp: missing argument to repetiti"
        "on operator: `*`"),
    ERR("and{b\"x\".,}",
        "1:6: parse error: unexpected string \"\\\"x\\\"\" in label matching,"
        " expected label matching operator"),
    ERR("(clamp())[1h30m/1m][100ms] offset 5m",
        "1:16: parse error: unexpected <op:/> in subquery or range, expected "
        "\":\" or \"]\""),
    ERR("foo:bar < on(a,- on,) \"s\"[100ms:1m] @ 1.5[1d offset 5m",
        "1:16: parse error: unexpected <op:-> in grouping opts, expected labe"
        "l"),
    ERR("sum by () ()[1y] / -1 offset -5m[1h:] or on(sum, job, a,) count_valu"
        "es without (on, b, job) (sum)[0s] @ 100",
        "1:1: parse error: no arguments for aggregate expression provided"),
    ERR("(Inf) unless bo-ol stddev(1e3) withut (on)[1y:1m][1h30m] offset 5m",
        "1:20: parse error: unexpected <aggr:stddev>"),
    ERR("sum or on(a, job,) avg by (on) `(up{a=~\".+\", __name__=~\"\", b!~`z"
        "`,}) @ end()",
        "1:32: parse error: unexpected string \"`(up{a=~\\\".\"... in aggrega"
        "tion"),
    ERR("stddev without b) (2.5, foo:bar{}[1y:])",
        "1:16: parse error: unexpected identifier \"b\" in grouping opts, exp"
        "ected \"(\""),
    ERR("histogram quantile(!oo:bar{a!=\"x\",} offset -5m) @ 1.5",
        "1:11: parse error: unexpected <aggr:quantile>"),
    ERR("\"\\U0001F600\" @5m ? *",
        "1:15: parse error: unexpected duration \"5m\" in @, expected timesta"
        "mp"),
    ERR("{} ^ bool sum without (a@, b,) (.5[1.5m], clamp(by{job=`z`, __name__"
        "!=\"\".*\", a=~\".+\",}))[1w:1m]",
        "1:25: parse error: unexpected \"<Item 57385>\" <op:@> in grouping op"
        "ts, expected \",\" or \")\""),
    ERR("x{__name__=~\".*\",} < ignoring( group_left nan and x[5m] @ 100[5m]^"
        " offset 5m",
        "1:43: parse error: unexpected number \"nan\" in grouping opts, expec"
        "ted \",\" or \")\""),
    ERR("an\"d{a=`z`, b!=\"a^|b\",}",
        "1:3: parse error: unexpected string \"\\\"d{a=`z`, \"..."),
    ERR("x{a!=\".+\", \"job!=\".[+\"}",
        "1:12: parse error: unexpected string \"\\\"job!=\\\"\" in label matc"
        "hing, expected identifier or \"}\""),
    ERR("+start{__nam__!~\").+\"}",
        "1:8: parse error: error parsing regexp: unexpected ): `^(?:).+)$`"),
    ERR("quantile by (job, a, sum) /(by{__name__!='y', b!=\"a@|b\",} unless i"
        "gnoring() sum[1y] @ 100, and)",
        "1:27: parse error: unexpected <op:/> in aggregation"),
    ERR("Inf - on(job, sum,) group_left(sum) +offset",
        "1:5: parse error: label \"sum\" must not occur in ON and GROUP claus"
        "e at once"),
    ERR("(offset[1w:1m)[1y=",
        "1:14: parse error: unexpected \")\" in subquery selector, expected "
        "\"]\""),
    ERR("sum(day_of_week(x{__name__=\".*\",}, x, (foo:bar{})))",
        "1:5: parse error: expected at most 1 argument(s) in call to \"day_of"
        "_week\", got 3"),
    ERR("quantile(+Inf == bool up ^ x{a!=\"\", __name__!~\".+\", __name__=`z`"
        "}[1y:*1m], 0x10[1y:][1y:] < bool group_right sum[30s] offset 5m) wit"
        "hout (b, on,)",
        "1:70: parse error: unexpected <op:*> in subquery selector, expected "
        "duration or \"]\""),
    ERR("(offset) and +start * bool ignoring(a,) group_right (x) >= bool ~rou"
        "p without (on, a,) (Inf)",
        "1:57: parse error: unexpected <op:>=>"),
    ERR("(-1[1d-:1m])[1y:][1h)",
        "1:7: parse error: unexpected <op:-> in subquery or range, expected "
        "\":\" or \"]\""),
    ERR("+count_values(start{job!=\".+\",}, start offset 1h % .5) by ()",
        "1:15: parse error: expected type string in aggregation parameter, go"
        "t instant vector"),
    ERR("avg by *(sum, on,) (pi(nan{__name__=~\".*\", job!~\"\"}[1h30m:], up{"
        ",}, 1 - by[1.5] offset 5m))",
        "1:8: parse error: unexpected <op:*> in grouping opts, expected \"(\""),
    ERR("\"\\u00e9\"#c\n @ offset",
        "2:4: parse error: unexpected <offset> in @, expected timestamp"),
    ERR("-quantile by (le sum) (Inf) >= ignoring(job, b) foo:ba=r{__name__=~'"
        "y', job=\"x\",} @ end()[5] @ 100",
        "1:18: parse error: unexpected <aggr:sum> in grouping opts, expected "
        "\",\" or \")\""),
    ERR("round(\"s\", clamp(\"s\" atan2 {a!=`z`, __name__!~\".*\"} <= bool +b"
        "y, -0x10 * foo:bar, x{} atan2 bool 1e3), up{a!=\".*\", a!=\".+\",})",
        "1:1: parse error: expected at most 2 argument(s) in call to \"round"
        "\", got 3"),
    ERR("sum by (b)+ (sum{job!='y', __nae__!~\".+\", b=~\"a|b\"}, -1 < avg(up"
        ", 1e3[1d] @ 100))",
        "1:11: parse error: unexpected <op:+> in aggregation"),
    ERR("absent_over_time(\"s\")",
        "1:18: parse error: expected type range vector in call to function \""
        "absent_over_time\", got string"),
    ERR("avg(and, foo(group(@{,}, .5), -sum{b='y', __name__!=\"\", a!=\".@+\""
        ",}) @ start()) without ()",
        "1:20: parse error: unexpected \"<Item 57385>\" <op:@> in aggregation"),
    ERR("ignoring", "1:1: parse error: unexpected <ignoring>"),
    ERR("by{a!=\"\", __name`__=\"x\", __name__=`z`}",
        "1:17: parse error: unexpected string \"`__=\\\"x\\\", _\"... in labe"
        "l matching, expected label matching operator"),
    ERR("clamp(0x10) and {b!=\".+\", job=\".+\"}[1w: == bool ignoring(b) stdd"
        "ev (tart)",
        "1:41: parse error: unexpected <op:==> in subquery selector, expected"
        " duration or \"]\""),
    ERR("up{job!=\"a|b\",}[1w:+][5:]",
        "1:20: parse error: unexpected <op:+> in subquery selector, expected "
        "duration or \"]\""),
    ERR("count_values(quantile without (le,) (up[1h], foo:bar{job=\".*\", b=`"
        "z`})) without (job,^ b, sum)",
        "1:86: parse error: unexpected <op:^> in grouping opts, expected labe"
        "l"),
    ERR("sta\"rt{a=~\"\", a=`z`, job=\"a|b\",}",
        "1:4: parse error: unexpected string \"\\\"rt{a=~\\\"\""),
    ERR("by[100m+s:][5] @ 10y0[5m][1w] @ 100",
        "1:8: parse error: unexpected <op:+> in subquery or range, expected "
        "\":\" or \"]\""),
    ERR("avg(foo:bar) without (a, on, job,) \"or on(,) group_left(on, le, b,)"
        " foo:bar[30s] unless bool group_right and{b=`z`, b=~\".+\"}[5] % ({}"
        "[1.5m:1m] offset -5m)",
        "1:36: parse error: unexpected string \"\\\"or on(,) \"..."),
    ERR("histogram_quantile(Inf, +((2.5)), {job='y', b=\"x\", __name__!~\".*"
        "\"})",
        "1:1: parse error: expected 2 argument(s) in call to \"histogram_quan"
        "tile\", got 3"),
    ERR("08 offset ",
        "1:11: parse error: unexpected end of input in offset, expected durat"
        "ion"),
    ERR("label_replace(-1, foo:bar[100ms] offset 5m / x, and{job!=\"x\", b=\""
        "x\", a=\".*\"}[100ms:1m])",
        "1:1: parse error: expected 5 argument(s) in call to \"label_replace"
        "\", got 3"),
    ERR("rate@ ms:",
        "1:7: parse error: unexpected metric identifier \"ms:\" in @, expecte"
        "d timestamp"),
    ERR("f\"oobar{a=~\".+\", a!=\".*\"}",
        "1:2: parse error: unexpected string \"\\\"oobar{a=~\"..."),
    ERR("-1\"\\101\"",
        "1:3: parse error: unexpected string \"\\\"\\\\101\\\"\""),
    ERR("atan2", "1:1: parse error: unexpected <op:atan2>"),
    ERR("\"\\z\"", "1:1: parse error: unknown escape sequence U+007A 'z'"),
    ERR("==", "1:1: parse error: unexpected <op:==>"),
    ERR(": \"s\\x41\" ",
        "1:3: parse error: unexpected string \"\\\"s\\\\x41\\\"\""),
    ERR("1e999",
        "1:1: parse error: error parsing number: strconv.ParseFloat: parsing "
        "\"1e999\": value out of range"),
    ERR("and sum ", "1:5: parse error: unexpected <aggr:sum>"),
    ERR("ms\"\\u00e9\"",
        "1:3: parse error: unexpected string \"\\\"\\\\u00e9\\\"\""),
    ERR("\"é\" ` ` \"", "1:6: parse error: unexpected string \"` `\""),
    ERR("by\"é\"", "1:3: parse error: unexpected string \"\\\"é\\\"\""),
    ERR("08 topk", "1:4: parse error: unexpected <aggr:topk>"),
    ERR("0 \"\\U0001F600\"",
        "1:3: parse error: unexpected string \"\\\"\\\\U0001F60\"..."),
    ERR("\" 5m \\ 1h30m:",
        "1:1: parse error: unknown escape sequence U+0020 ' '"),
    ERR("\" 'q\\'' !=", "1:1: parse error: unknown escape sequence U+0027 '''"),
    ERR("1!=!'q\\''",
        "1:4: parse error: unexpected character after '!': '\\''"),
    ERR("\"\\U0001F600\"' 0x1f \\-1 ",
        "1:13: parse error: unknown escape sequence U+002D '-'"),
    ERR("\"\\101\" \" \" 5",
        "1:8: parse error: unexpected string \"\\\" \\\"\""),
    ERR("\"\\101\" \" xgroup_left\"s\\x41\" y{a=\"b\"}",
        "1:8: parse error: unexpected string \"\\\" xgroup_l\"..."),
    ERR("bywithout== bool ignoring!= ",
        "1:26: parse error: unexpected <op:!=> in grouping opts, expected \"("
        "\""),
    ERR("offset@ `r\\a`{0x1f",
        "1:9: parse error: unexpected string \"`r\\\\a`\" in @, expected time"
        "stamp"),
    ERR("`r\\a` @ ==:",
        "1:9: parse error: unexpected <op:==> in @, expected timestamp"),
    ERR("08\"\"==y{a=\"b\"}==",
        "1:3: parse error: unexpected string \"\\\"\\\"\""),
    ERR("{ ' '08",
        "1:3: parse error: unexpected string \"' '\" in label matching, expec"
        "ted identifier or \"}\""),
    ERR("{\"\\101\"end()1e5** ",
        "1:2: parse error: unexpected string \"\\\"\\\\101\\\"\" in label mat"
        "ching, expected identifier or \"}\""),
    ERR("sum` é\"\\u00e9\"\\ \"\\101\" -1`r\\a` ",
        "1:4: parse error: unexpected string \"` é\\\"\\\\u00e9\"..."),
    ERR("1@by and ",
        "1:3: parse error: unexpected <by> in @, expected timestamp"),
    ERR("\"é\" offset unless ",
        "1:13: parse error: unexpected <op:unless> in offset, expected durati"
        "on"),
    ERR("x\" atan2topk unless= \"",
        "1:2: parse error: unexpected string \"\\\" atan2top\"..."),
    ERR("{\"é\"$@ `r\\a`1h30m unless",
        "1:2: parse error: unexpected string \"\\\"é\\\"\" in label matching,"
        " expected identifier or \"}\""),
    ERR("{ \"s\\x41\"' ",
        "1:3: parse error: unexpected string \"\\\"s\\\\x41\\\"\" in label ma"
        "tching, expected identifier or \"}\""),
    ERR("ms!=ignoring.5e-3",
        "1:13: parse error: unexpected number \".5e-3\" in grouping opts, exp"
        "ected \"(\""),
    ERR("1 @!= ",
        "1:4: parse error: unexpected <op:!=> in @, expected timestamp"),
    ERR("{sum \"é\"by =~ ",
        "1:6: parse error: unexpected string \"\\\"é\\\"\" in label matching,"
        " expected label matching operator"),
    ERR("\"s\\x41\"offset offset end() ",
        "1:15: parse error: unexpected <offset> in offset, expected duration"),
    ERR("topk offset \"\\u00e9\"^ignoring ",
        "1:13: parse error: unexpected string \"\\\"\\\\u00e9\\\"\" in offset"
        ", expected duration"),
    ERR("\"\\u00e9\"'\\", "1:9: parse error: escape sequence not terminated"),
    ERR("{ \"\\U0001F600\" `r\\a` Inf1h30m!=\"é\" ",
        "1:3: parse error: unexpected string \"\\\"\\\\U0001F60\"... in label"
        " matching, expected identifier or \"}\""),
    ERR("sum without ",
        "1:13: parse error: unexpected end of input in grouping opts, expecte"
        "d \"(\""),
    ERR("{\"\\u00e9\" on",
        "1:2: parse error: unexpected string \"\\\"\\\\u00e9\\\"\" in label m"
        "atching, expected identifier or \"}\""),
    ERR("without08 \"{Inf \"\\z\" 'q\\'' ",
        "1:11: parse error: unexpected string \"\\\"{Inf \\\"\""),
    ERR("unless\" :sum\"é\"1 ",
        "1:7: parse error: unexpected string \"\\\" :sum\\\"\""),
    ERR("rate offset !=!~by08 ]by",
        "1:13: parse error: unexpected <op:!=> in offset, expected duration"),
    ERR("\"\\U0001F600\" @\"s\\x41\" 1e999 + ",
        "1:15: parse error: unexpected string \"\\\"s\\\\x41\\\"\" in @, expe"
        "cted timestamp"),
    ERR("topk without by \"\\z\"[",
        "1:14: parse error: unexpected <by> in grouping opts, expected \"(\""),
    ERR("and *on \"é\") 'q\\'' (,",
        "1:9: parse error: unexpected string \"\\\"é\\\"\" in grouping opts, "
        "expected \"(\""),
    ERR("{ ignoring1e5 \"\\u00e9\" é bool#c\n `r\\a` ",
        "1:15: parse error: unexpected string \"\\\"\\\\u00e9\\\"\" in label "
        "matching, expected label matching operator"),
    ERR("x0 \" ? bool.5e-3$\"s\\x41\" ",
        "1:4: parse error: unexpected string \"\\\" ? bool.5\"..."),
    ERR("x \" (} }\"\\u00e9\"? ",
        "1:3: parse error: unexpected string \"\\\" (} }\\\"\""),
    ERR("sum offset@ *ms ",
        "1:11: parse error: unexpected \"<Item 57385>\" <op:@> in offset, exp"
        "ected duration"),
    ERR("topk\" group_left ( sum\"\\z\"",
        "1:5: parse error: unexpected string \"\\\" group_le\"..."),
    ERR("5\"start() 08 ' \"é\" ",
        "1:2: parse error: unexpected string \"\\\"start() 0\"..."),
    ERR("sum(atan2", "1:5: parse error: unexpected <op:atan2> in aggregation"),
    ERR("{ and \"\\U0001F600\"",
        "1:7: parse error: unexpected string \"\\\"\\\\U0001F60\"... in label"
        " matching, expected label matching operator"),
    ERR("\"\\U0001F600\" ^ on -\"s\\x41\"1e9991e999 Inf",
        "1:19: parse error: unexpected <op:-> in grouping opts, expected \"("
        "\""),
    ERR("\"\\101\" \"bool\"é\" !~ *",
        "1:8: parse error: unexpected string \"\\\"bool\\\"\""),
    ERR("msInf and on without `r\\a`",
        "1:14: parse error: unexpected <without> in grouping opts, expected "
        "\"(\""),
    ERR("abs \"5Inf\"s\\x41\"=~ ",
        "1:5: parse error: unexpected string \"\\\"5Inf\\\"\""),
    ERR("on5' topkéunless' ",
        "1:4: parse error: unexpected string \"' topkéunl\"..."),
    ERR("'!~[\\0x1f ms  offset ",
        "1:1: parse error: illegal character U+0078 'x' in escape sequence"),
    ERR("\"é\" \" @Inf} )\"\\z\" ",
        "1:6: parse error: unexpected string \"\\\" @Inf} )\\\"\""),
    ERR("{ group_left \"s\\x41\" { `r\\a`!-1 \\ ",
        "1:14: parse error: unexpected string \"\\\"s\\\\x41\\\"\" in label m"
        "atching, expected label matching operator"),
    ERR("'q\\''^ignoring+ group_left , '",
        "1:15: parse error: unexpected <op:+> in grouping opts, expected \"("
        "\""),
    ERR(": \" `r\\a` `r\\a`\"\\101\"",
        "1:3: parse error: unexpected string \"\\\" `r\\\\a` `r\"..."),
    ERR("\"\\101\" @ and ] sum @ 1e5",
        "1:10: parse error: unexpected <op:and> in @, expected timestamp"),
    ERR("\"\\101\" \"^ ] abs \"\\z\" \"é\"",
        "1:8: parse error: unexpected string \"\\\"^ ] abs \\\"\""),
    ERR("0x1f and ignoring group_left ",
        "1:19: parse error: unexpected <group_left> in grouping opts, expecte"
        "d \"(\""),
    ERR("' ) end()\"\\u00e9\"=\\.5e-3 ",
        "1:1: parse error: unknown escape sequence U+002E '.'"),
    ERR(": offset== !~ \"\\z\" .5e-3- ",
        "1:9: parse error: unexpected <op:==> in offset, expected duration"),
    ERR("topky{a=\"b\"} offset\"\\101\"atan2",
        "1:20: parse error: unexpected string \"\\\"\\\\101\\\"\" in offset, "
        "expected duration"),
    OK("p", "p"),
    OK(":", ":"),
    OK("1", "1"),
    OK("n", "n"),
    OK("up", "up"),
    OK("-1", "-1"),
    OK(": ", ":"),
    OK("ms ", "ms"),
    OK("\"é\"", "\"é\""),
    OK("abs5 ", "abs5"),
    OK(".5e-3", "0.0005"),
    OK("rate ", "rate"),
    OK("(up{})", "(up)"),
    OK("y{a=\"b\"}", "y{a=\"b\"}"),
    OK("foo:bamr", "foo:bamr"),
    OK("\"\\u00e9\"", "\"é\""),
    OK("\"\\101\" \n ", "\"A\""),
    OK("um{job=~\"x\"}", "um{job=~\"x\"}"),
    OK("\"\\U0001F600\"", "\"😀\""),
    OK("offset @ end()", "offset @ end()"),
    OK("start[1w] @ 100", "start[1w] @ 100.000"),
    OK("bottomk(1, and)", "bottomk(1, and)"),
    OK("up{a!~\".+\",}[30s]", "up{a!~\".+\"}[30s]"),
    OK("offset{b!=\".+\", a!~\".+\",}", "offset{a!~\".+\",b!=\".+\"}"),
    OK("by{b!='y', job=~\"\", a!=\".+\"}", "by{a!=\".+\",b!=\"y\",job=~\"\"}"),
    OK("time() ^ start{b!=\".+\", b=~'y', b=\".*\"}",
       "time() ^ start{b!=\".+\",b=\".*\",b=~\"y\"}"),
};

/*
 * Parses c->query and compares with the expectation; a query that parses
 * must also print to a text that parses back to the same text. Returns 0
 * on success, 1 (after printing the difference) on mismatch.
 */
static int
check(struct tr_arena *a, const struct parse_case *c)
{
    struct tr_promql_node *root = NULL;
    struct tr_promql_error perr;
    struct tr_err err;
    struct tr_buf out = TR_BUF_INIT;
    int failed = 0;

    tr_err_clear(&err);
    int rc = tr_promql_parse(c->query, strlen(c->query), a, &root, &perr, &err);
    if (c->want_err) {
        if (rc != TR_EINVAL || strcmp(err.msg, c->want_err) != 0) {
            print_message("query %s\n  want error %s\n  got rc=%d %s\n",
                          c->query, c->want_err, rc, err.msg);
            failed = 1;
        }
        return failed;
    }
    if (rc != TR_OK) {
        print_message("query %s\n  want %s\n  got error %s\n", c->query,
                      c->want_text, err.msg);
        return 1;
    }
    assert_int_equal(tr_promql_format(root, &out), TR_OK);
    if (out.len != strlen(c->want_text) ||
        memcmp(out.data, c->want_text, out.len) != 0) {
        print_message("query %s\n  want %s\n  got  %.*s\n", c->query,
                      c->want_text, (int)out.len, out.data);
        failed = 1;
    } else {
        /* The canonical text is a fixed point. */
        struct tr_promql_node *again = NULL;
        struct tr_buf out2 = TR_BUF_INIT;
        rc = tr_promql_parse(out.data, out.len, a, &again, NULL, &err);
        if (rc != TR_OK || tr_promql_format(again, &out2) != TR_OK ||
            out2.len != out.len || memcmp(out2.data, out.data, out.len)) {
            print_message("query %s: canonical text does not round-trip: "
                          "%s\n",
                          c->query, rc == TR_OK ? "differs" : err.msg);
            failed = 1;
        }
        tr_buf_fini(&out2);
    }
    tr_buf_fini(&out);
    return failed;
}

static void
test_table(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    int failures = 0;
    size_t n = sizeof(cases) / sizeof(cases[0]);

    assert_non_null(a);
    for (size_t i = 0; i < n; i++) {
        failures += check(a, &cases[i]);
        tr_arena_reset(a);
    }
    tr_arena_destroy(a);
    print_message("%zu cases, %d failed\n", n, failures);
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------------ */
/* Tree shape: precedence and associativity                            */
/* ------------------------------------------------------------------ */

/* Prints the tree with every binary and unary node in parentheses. */
static void
shape(const struct tr_promql_node *n, struct tr_buf *b)
{
    switch (n->kind) {
    case TR_PROMQL_NUMBER:
        tr_buf_appendf(b, "%g", n->u.number);
        return;
    case TR_PROMQL_VECTOR:
        tr_buf_append(b, n->u.vector.name.data, n->u.vector.name.len);
        return;
    case TR_PROMQL_BINARY:
        tr_buf_append_byte(b, '(');
        shape(n->u.binary.lhs, b);
        tr_buf_appendf(b, " %s ", tr_promql_op_name(n->u.binary.op));
        shape(n->u.binary.rhs, b);
        tr_buf_append_byte(b, ')');
        return;
    case TR_PROMQL_UNARY:
        tr_buf_appendf(b, "(%s", tr_promql_op_name(n->u.unary.op));
        shape(n->u.unary.expr, b);
        tr_buf_append_byte(b, ')');
        return;
    case TR_PROMQL_PAREN:
        tr_buf_append_byte(b, '[');
        shape(n->u.paren.expr, b);
        tr_buf_append_byte(b, ']');
        return;
    case TR_PROMQL_SUBQUERY:
        tr_buf_append_str(b, "sq(");
        shape(n->u.subquery.expr, b);
        tr_buf_append_byte(b, ')');
        return;
    case TR_PROMQL_MATRIX:
        tr_buf_append_str(b, "m(");
        shape(n->u.matrix.vector, b);
        tr_buf_append_byte(b, ')');
        return;
    default:
        tr_buf_append_str(b, "?");
        return;
    }
}

static void
check_shape(struct tr_arena *a, const char *query, const char *want)
{
    struct tr_promql_node *root;
    struct tr_err err;
    struct tr_buf b = TR_BUF_INIT;

    if (tr_promql_parse(query, strlen(query), a, &root, NULL, &err) != TR_OK) {
        fail_msg("%s: %s", query, err.msg);
    }
    shape(root, &b);
    tr_buf_append_byte(&b, '\0');
    if (strcmp(b.data, want) != 0) {
        tr_buf_fini(&b);
        fail_msg("%s: want %s", query, want);
    }
    tr_buf_fini(&b);
}

static void
test_precedence(void **state)
{
    struct tr_arena *a = tr_arena_create(0);

    check_shape(a, "-2^2", "(-(2 ^ 2))");
    check_shape(a, "-2", "-2");
    check_shape(a, "- - 2", "2");
    check_shape(a, "-(2)", "(-[2])");
    check_shape(a, "2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))");
    check_shape(a, "2 ^ -1 ^ 2", "(2 ^ (-(1 ^ 2)))");
    check_shape(a, "a - b - c", "((a - b) - c)");
    check_shape(a, "a / b * c % d", "(((a / b) * c) % d)");
    check_shape(a, "a + b * c", "(a + (b * c))");
    check_shape(a, "a * b + c", "((a * b) + c)");
    check_shape(a, "a atan2 b * c", "((a atan2 b) * c)");
    check_shape(a, "a ^ b atan2 c", "((a ^ b) atan2 c)");
    check_shape(a, "-a * b", "((-a) * b)");
    check_shape(a, "-a + b", "((-a) + b)");
    check_shape(a, "a + -b * c", "(a + ((-b) * c))");
    check_shape(a, "a > b + c", "(a > (b + c))");
    check_shape(a, "a == b != c", "((a == b) != c)");
    check_shape(a, "a and b > c", "(a and (b > c))");
    check_shape(a, "a or b and c unless d", "(a or ((b and c) unless d))");
    check_shape(a, "a or b or c", "((a or b) or c)");
    check_shape(a, "a + b offset 5m", "(a + b)");
    check_shape(a, "-x offset 5m", "(-x)");
    check_shape(a, "a + b @ 5", "(a + b)");
    check_shape(a, "(a + b)[5m:]", "sq([(a + b)])");
    check_shape(a, "rate(x[5m])[5m:]", "sq(?)");
    tr_arena_destroy(a);
}

/* ------------------------------------------------------------------ */
/* AST contents                                                        */
/* ------------------------------------------------------------------ */

static struct tr_promql_node *
parse_ok(struct tr_arena *a, const char *query)
{
    struct tr_promql_node *root = NULL;
    struct tr_err err;
    if (tr_promql_parse(query, strlen(query), a, &root, NULL, &err) != TR_OK) {
        fail_msg("%s: %s", query, err.msg);
    }
    return root;
}

static bool
str_is(struct tr_promql_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.data, want, s.len) == 0;
}

static void
test_ast_selectors(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    const int64_t sec = INT64_C(1000000000);

    struct tr_promql_node *n =
        parse_ok(a, "rate(http_total{job=\"api\",code!~\"5..\"}[5m] "
                    "offset -1h @ 100.5)");
    assert_int_equal(n->kind, TR_PROMQL_CALL);
    assert_int_equal(n->u.call.func->id, TR_PROMQL_FN_RATE);
    assert_int_equal(n->u.call.n_args, 1);
    assert_int_equal(tr_promql_node_type(n), TR_PROMQL_TYPE_VECTOR);
    struct tr_promql_node *m = n->u.call.args[0];
    assert_int_equal(m->kind, TR_PROMQL_MATRIX);
    assert_true(m->u.matrix.range_ns == 300 * sec);
    assert_int_equal(tr_promql_node_type(m), TR_PROMQL_TYPE_MATRIX);
    const struct tr_promql_vector_selector *vs = &m->u.matrix.vector->u.vector;
    assert_true(str_is(vs->name, "http_total"));
    assert_true(vs->offset_ns == -3600 * sec);
    assert_int_equal(vs->at.kind, TR_PROMQL_AT_TIMESTAMP);
    assert_true(vs->at.timestamp_ms == 100500);
    assert_int_equal(vs->n_matchers, 3);
    assert_true(str_is(vs->matchers[0].name, "job"));
    assert_int_equal(vs->matchers[0].type, TR_PROMQL_MATCH_EQ);
    assert_true(str_is(vs->matchers[1].value, "5.."));
    assert_int_equal(vs->matchers[1].type, TR_PROMQL_MATCH_NRE);
    assert_true(vs->matchers[1].matches_empty); /* "" is not 5.. */
    assert_false(vs->matchers[0].matches_empty);
    /* The name comes last as __name__="...". */
    assert_true(str_is(vs->matchers[2].name, "__name__"));
    assert_true(str_is(vs->matchers[2].value, "http_total"));
    /* Positions: the call spans the whole text, the matrix its part. */
    assert_int_equal(n->pos.start, 0);
    assert_int_equal(n->pos.end, 62);
    assert_int_equal(m->pos.start, 5);

    n = parse_ok(a, "x{a=\"\\x00b\", c=~\".*\"}");
    assert_int_equal(n->u.vector.matchers[0].value.len, 2);
    assert_int_equal(n->u.vector.matchers[0].value.data[0], '\0');
    assert_true(n->u.vector.matchers[1].matches_empty);

    n = parse_ok(a, "x[1h:] @ end() offset 5m");
    assert_int_equal(n->kind, TR_PROMQL_SUBQUERY);
    assert_true(n->u.subquery.range_ns == 3600 * sec);
    assert_true(n->u.subquery.step_ns == 0);
    assert_true(n->u.subquery.offset_ns == 300 * sec);
    assert_int_equal(n->u.subquery.at.kind, TR_PROMQL_AT_END);

    n = parse_ok(a, "x @ start()");
    assert_int_equal(n->u.vector.at.kind, TR_PROMQL_AT_START);
    n = parse_ok(a, "x[5m:30s]");
    assert_true(n->u.subquery.step_ns == 30 * sec);
    n = parse_ok(a, "{__name__=\"up\"}");
    assert_int_equal(n->u.vector.name.len, 0);
    assert_int_equal(n->u.vector.n_matchers, 1);
    n = parse_ok(a, "'a\\'b' ");
    assert_int_equal(n->kind, TR_PROMQL_STRING);
    assert_true(str_is(n->u.string, "a'b"));
    n = parse_ok(a, "\"\\U0001f600\\101\"");
    assert_true(str_is(n->u.string, "\xf0\x9f\x98\x80"
                                    "A"));
    n = parse_ok(a, "0x1F");
    assert_true(n->u.number == 31);
    n = parse_ok(a, "-Inf");
    assert_true(isinf(n->u.number) && n->u.number < 0);
    n = parse_ok(a, "nan");
    assert_true(isnan(n->u.number));
    tr_arena_destroy(a);
}

static void
test_ast_operators(void **state)
{
    struct tr_arena *a = tr_arena_create(0);

    struct tr_promql_node *n = parse_ok(a, "a / on(x, y) group_left(z) b");
    assert_int_equal(n->kind, TR_PROMQL_BINARY);
    assert_int_equal(n->u.binary.op, TR_PROMQL_OP_DIV);
    const struct tr_promql_vector_matching *vm = n->u.binary.matching;
    assert_non_null(vm);
    assert_true(vm->on);
    assert_int_equal(vm->card, TR_PROMQL_CARD_MANY_TO_ONE);
    assert_int_equal(vm->n_labels, 2);
    assert_true(str_is(vm->labels[1], "y"));
    assert_int_equal(vm->n_include, 1);
    assert_true(str_is(vm->include[0], "z"));

    n = parse_ok(a, "a > bool ignoring(x) group_right b");
    assert_true(n->u.binary.return_bool);
    assert_false(n->u.binary.matching->on);
    assert_int_equal(n->u.binary.matching->card, TR_PROMQL_CARD_ONE_TO_MANY);
    assert_int_equal(n->u.binary.matching->n_include, 0);

    n = parse_ok(a, "a unless b");
    assert_int_equal(n->u.binary.matching->card, TR_PROMQL_CARD_MANY_TO_MANY);
    n = parse_ok(a, "a * 2");
    assert_null(n->u.binary.matching);
    assert_int_equal(tr_promql_node_type(n), TR_PROMQL_TYPE_VECTOR);
    n = parse_ok(a, "1 + 2");
    assert_null(n->u.binary.matching);
    assert_int_equal(tr_promql_node_type(n), TR_PROMQL_TYPE_SCALAR);

    n = parse_ok(a, "topk without (a, b) (5, x)");
    assert_int_equal(n->kind, TR_PROMQL_AGGREGATE);
    assert_int_equal(n->u.aggregate.op, TR_PROMQL_AGG_TOPK);
    assert_true(n->u.aggregate.without);
    assert_int_equal(n->u.aggregate.n_grouping, 2);
    assert_true(n->u.aggregate.param->u.number == 5);
    assert_int_equal(n->u.aggregate.expr->kind, TR_PROMQL_VECTOR);
    n = parse_ok(a, "count_values(\"v\", x) by (job)");
    assert_int_equal(n->u.aggregate.param->kind, TR_PROMQL_STRING);
    assert_false(n->u.aggregate.without);
    n = parse_ok(a, "sum(x)");
    assert_null(n->u.aggregate.param);
    assert_int_equal(n->u.aggregate.n_grouping, 0);

    n = parse_ok(a, "-x");
    assert_int_equal(n->kind, TR_PROMQL_UNARY);
    assert_int_equal(n->u.unary.op, TR_PROMQL_OP_SUB);
    n = parse_ok(a, "(scalar(x))");
    assert_int_equal(tr_promql_node_type(n), TR_PROMQL_TYPE_SCALAR);
    n = parse_ok(a, "label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")");
    assert_int_equal(n->u.call.n_args, 6);
    n = parse_ok(a, "day_of_week()");
    assert_int_equal(n->u.call.n_args, 0);
    tr_arena_destroy(a);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void
test_error_positions(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    struct tr_promql_node *root = (void *)1;
    struct tr_promql_error perr;
    struct tr_err err;
    const char *q = "sum(\n  rate(x[5m])\n) by (a) by";

    assert_int_equal(tr_promql_parse(q, strlen(q), a, &root, &perr, &err),
                     TR_EINVAL);
    assert_null(root);
    assert_int_equal(perr.line, 3);
    assert_int_equal(perr.col, 10);
    assert_int_equal(perr.pos, 28);
    assert_string_equal(perr.msg, "unexpected <by>");
    assert_string_equal(err.msg, "3:10: parse error: unexpected <by>");
    assert_int_equal(err.code, TR_EINVAL);

    /* The length bounds the input: no NUL terminator needed. */
    assert_int_equal(tr_promql_parse("x y", 1, a, &root, &perr, NULL), TR_OK);
    assert_int_equal(tr_promql_parse("x y", 3, a, &root, &perr, NULL),
                     TR_EINVAL);
    assert_int_equal(perr.col, 3);
    /* A NUL byte is just an unexpected character. */
    assert_int_equal(tr_promql_parse("x\0", 2, a, &root, NULL, &err),
                     TR_EINVAL);
    assert_string_equal(err.msg,
                        "1:2: parse error: unexpected character: '\\x00'");
    tr_arena_destroy(a);
}

static void
test_depth_limit(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    struct tr_buf q = TR_BUF_INIT;
    struct tr_promql_node *root;
    struct tr_err err;

    /* 999 parentheses around x: fine. */
    for (int i = 0; i < 998; i++) {
        tr_buf_append_byte(&q, '(');
    }
    tr_buf_append_byte(&q, 'x');
    for (int i = 0; i < 998; i++) {
        tr_buf_append_byte(&q, ')');
    }
    assert_int_equal(tr_promql_parse(q.data, q.len, a, &root, NULL, &err),
                     TR_OK);
    assert_true(root->height <= TR_PROMQL_MAX_DEPTH);
    tr_buf_reset(&q);
    for (int i = 0; i < 100000; i++) {
        tr_buf_append_byte(&q, '(');
    }
    assert_int_equal(tr_promql_parse(q.data, q.len, a, &root, NULL, &err),
                     TR_EINVAL);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    /* A long flat chain makes a deep tree too. */
    tr_buf_reset(&q);
    tr_buf_append_str(&q, "x");
    for (int i = 0; i < 5000; i++) {
        tr_buf_append_str(&q, " + x");
    }
    assert_int_equal(tr_promql_parse(q.data, q.len, a, &root, NULL, &err),
                     TR_EINVAL);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    tr_buf_fini(&q);
    tr_arena_destroy(a);
}

/* ------------------------------------------------------------------ */
/* Selector API, walk, function table, helpers                         */
/* ------------------------------------------------------------------ */

static void
check_selector(struct tr_arena *a, const char *text, const char *want,
               bool all_empty)
{
    struct tr_promql_node *n = NULL;
    struct tr_err err;
    int rc = tr_promql_parse_selector(text, strlen(text), a, &n, NULL, &err);

    if (want[0] != '{' && strchr(want, ':') && strstr(want, "parse error")) {
        assert_int_equal(rc, TR_EINVAL);
        assert_string_equal(err.msg, want);
        return;
    }
    assert_int_equal(rc, TR_OK);
    assert_int_equal(n->kind, TR_PROMQL_VECTOR);
    struct tr_buf b = TR_BUF_INIT;
    assert_int_equal(tr_promql_format(n, &b), TR_OK);
    tr_buf_append_byte(&b, '\0');
    assert_string_equal(b.data, want);
    tr_buf_fini(&b);
    assert_true(tr_promql_matchers_all_empty(n) == all_empty);
}

static void
test_parse_selector(void **state)
{
    struct tr_arena *a = tr_arena_create(0);

    check_selector(a, "up", "up", false);
    check_selector(a, "up{job=\"a\"}", "up{job=\"a\"}", false);
    check_selector(a, "{a=~\".*\", b=\"\"}", "{a=~\".*\",b=\"\"}", true);
    check_selector(a, "{}", "", true); /* Prometheus prints it empty */
    check_selector(a, "x{__name__=\"y\"}", "x{__name__=\"y\"}", false);
    check_selector(a, "sum", "sum", false);
    check_selector(a, "x[5m]", "1:2: parse error: unexpected \"[\"", false);
    check_selector(a, "", "1:1: parse error: unexpected end of input", false);
    check_selector(a, "x offset 5m", "1:3: parse error: unexpected <offset>",
                   false);
    check_selector(a, "rate(x)", "1:5: parse error: unexpected \"(\"", false);
    check_selector(a, "x y", "1:3: parse error: unexpected identifier \"y\"",
                   false);
    check_selector(a, "{a=~\"(\"}",
                   "1:2: parse error: error parsing regexp: missing closing "
                   "): `^(?:()$`",
                   false);
    tr_arena_destroy(a);
}

struct walk_stats {
    int nodes;
    int max_depth;
    int selectors;
};

static int
count_nodes(struct tr_promql_node *node, const struct tr_promql_path *path,
            void *arg)
{
    struct walk_stats *s = arg;
    int depth = 0;
    for (const struct tr_promql_path *p = path; p; p = p->up) {
        depth++;
    }
    s->nodes++;
    if (depth > s->max_depth) {
        s->max_depth = depth;
    }
    if (node->kind == TR_PROMQL_VECTOR) {
        s->selectors++;
        /* The parent of a range's selector is the range. */
        if (path && path->node->kind == TR_PROMQL_MATRIX) {
            assert_ptr_equal(path->node->u.matrix.vector, node);
        }
    }
    if (node->kind == TR_PROMQL_AGGREGATE) {
        return 1; /* do not descend into aggregations */
    }
    return 0;
}

static int
stop_at_number(struct tr_promql_node *node, const struct tr_promql_path *p,
               void *arg)
{
    (void)p;
    (*(int *)arg)++;
    return node->kind == TR_PROMQL_NUMBER ? TR_ECANCELED : 0;
}

static void
test_walk(void **state)
{
    struct tr_arena *a = tr_arena_create(0);
    struct tr_promql_node *n =
        parse_ok(a, "sum by (a) (x offset 1m) / on(a) (y + rate(z[1m]))"
                    " > bool 1");
    struct walk_stats s = {0, 0, 0};

    assert_int_equal(tr_promql_walk(n, count_nodes, &s), TR_OK);
    /* >, /, sum (not descended), (), +, y, rate, z[1m], z, 1 */
    assert_int_equal(s.nodes, 10);
    assert_int_equal(s.selectors, 2);
    assert_int_equal(s.max_depth, 6);

    int visited = 0;
    assert_int_equal(tr_promql_walk(n, stop_at_number, &visited), TR_ECANCELED);
    assert_int_equal(visited, 11);
    assert_int_equal(tr_promql_walk(NULL, stop_at_number, &visited), TR_OK);
    tr_arena_destroy(a);
}

static void
test_function_table(void **state)
{
    size_t n;
    const struct tr_promql_function *all = tr_promql_functions(&n);

    assert_int_equal(n, 70);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(
            tr_promql_function_lookup(all[i].name, strlen(all[i].name)),
            &all[i]);
        if (i > 0) {
            assert_true(strcmp(all[i - 1].name, all[i].name) < 0);
        }
    }
    assert_null(tr_promql_function_lookup("rat", 3));
    assert_null(tr_promql_function_lookup("rates", 5));
    assert_null(tr_promql_function_lookup("sort_by_label", 13));
    assert_non_null(tr_promql_function_lookup("ratex", 4));
    const struct tr_promql_function *f =
        tr_promql_function_lookup("label_join", 10);
    assert_int_equal(f->variadic, -1);
    assert_int_equal(f->n_args, 4);
    f = tr_promql_function_lookup("histogram_quantile", 18);
    assert_int_equal(f->arg_types[0], TR_PROMQL_TYPE_SCALAR);
    assert_int_equal(f->arg_types[1], TR_PROMQL_TYPE_VECTOR);
    f = tr_promql_function_lookup("time", 4);
    assert_int_equal(f->return_type, TR_PROMQL_TYPE_SCALAR);
}

static void
test_helpers(void **state)
{
    char d[32];
    struct tr_buf b = TR_BUF_INIT;
    const int64_t ms = INT64_C(1000000);

    assert_string_equal(tr_promql_duration_format(0, d, sizeof(d)), "0s");
    assert_string_equal(
        tr_promql_duration_format(ms * 1000 * 86400 * 90, d, sizeof(d)), "90d");
    assert_string_equal(
        tr_promql_duration_format(ms * 1000 * 86400 * 14, d, sizeof(d)), "2w");
    assert_string_equal(tr_promql_duration_format(5400000 * ms, d, sizeof(d)),
                        "1h30m");
    assert_string_equal(tr_promql_duration_format(1500 * ms, d, sizeof(d)),
                        "1s500ms");
    assert_string_equal(tr_promql_type_name(TR_PROMQL_TYPE_MATRIX),
                        "range vector");
    assert_string_equal(tr_promql_op_name(TR_PROMQL_OP_ATAN2), "atan2");
    assert_string_equal(tr_promql_agg_op_name(TR_PROMQL_AGG_COUNT_VALUES),
                        "count_values");
    assert_string_equal(tr_promql_match_type_name(TR_PROMQL_MATCH_NRE), "!~");
    assert_true(tr_promql_op_is_comparison(TR_PROMQL_OP_LTE));
    assert_false(tr_promql_op_is_comparison(TR_PROMQL_OP_POW));
    assert_true(tr_promql_op_is_set(TR_PROMQL_OP_UNLESS));
    assert_int_equal(tr_promql_format_string("a\"\n\x01\xff\xc3\xa9", 7, &b),
                     TR_OK);
    tr_buf_append_byte(&b, '\0');
    assert_string_equal(b.data, "\"a\\\"\\n\\x01\\xffé\"");
    tr_buf_fini(&b);
}

/* Every allocation lives in the arena: one destroy frees everything. */
static void
test_memory(void **state)
{
    int64_t before = tr_mem_bytes_in_use();
    struct tr_arena *a = tr_arena_create(1024);
    struct tr_promql_node *root;
    size_t n = sizeof(cases) / sizeof(cases[0]);

    for (size_t i = 0; i < n; i++) {
        tr_promql_parse(cases[i].query, strlen(cases[i].query), a, &root, NULL,
                        NULL);
    }
    assert_true(tr_arena_used(a) > 0);
    tr_arena_destroy(a);
    assert_int_equal(tr_mem_bytes_in_use(), before);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_ast_selectors),
        cmocka_unit_test(test_ast_operators),
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_parse_selector),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_function_table),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
