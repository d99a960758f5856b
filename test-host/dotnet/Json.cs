// A small JSON reader and writer for the console host: objects become
// Dictionary<string, object>, arrays List<object>, numbers double, plus string, bool
// and null. Enough for the runtime's answers and the store's calls, with no assembly
// beyond mscorlib (Mono's and .NET's alike).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Atrs.ConsoleHost
{
    static class Json
    {
        public static object Parse(string text)
        {
            int at = 0;
            object value = ReadValue(text, ref at);
            SkipSpace(text, ref at);
            if (at != text.Length) throw new FormatException("JSON: text after the value at " + at);
            return value;
        }

        public static Dictionary<string, object> Object(string text)
        {
            var value = Parse(text) as Dictionary<string, object>;
            if (value == null) throw new FormatException("JSON: not an object");
            return value;
        }

        /// <summary>obj["a"]["b"]… as a string, or null when any step is missing.</summary>
        public static string Str(object obj, params string[] path)
        {
            object value = Get(obj, path);
            if (value == null) return null;
            if (value is double) return ((double)value).ToString(CultureInfo.InvariantCulture);
            if (value is bool) return (bool)value ? "true" : "false";
            return value as string;
        }

        public static object Get(object obj, params string[] path)
        {
            foreach (string key in path)
            {
                var map = obj as Dictionary<string, object>;
                if (map == null || !map.TryGetValue(key, out obj)) return null;
            }
            return obj;
        }

        public static string Write(object value)
        {
            var sb = new StringBuilder();
            WriteValue(sb, value);
            return sb.ToString();
        }

        static void WriteValue(StringBuilder sb, object value)
        {
            if (value == null) { sb.Append("null"); return; }
            if (value is string) { WriteString(sb, (string)value); return; }
            if (value is bool) { sb.Append((bool)value ? "true" : "false"); return; }
            if (value is double || value is int || value is long || value is ulong)
            {
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                return;
            }
            var map = value as IDictionary<string, object>;
            if (map != null)
            {
                sb.Append('{');
                bool first = true;
                foreach (var pair in map)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, pair.Key);
                    sb.Append(':');
                    WriteValue(sb, pair.Value);
                }
                sb.Append('}');
                return;
            }
            var list = value as System.Collections.IEnumerable;
            if (list != null)
            {
                sb.Append('[');
                bool first = true;
                foreach (object item in list)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteValue(sb, item);
                }
                sb.Append(']');
                return;
            }
            throw new ArgumentException("JSON: cannot write " + value.GetType());
        }

        static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        static void SkipSpace(string s, ref int at)
        {
            while (at < s.Length && char.IsWhiteSpace(s[at])) at++;
        }

        static object ReadValue(string s, ref int at)
        {
            SkipSpace(s, ref at);
            if (at >= s.Length) throw new FormatException("JSON: unexpected end");
            char c = s[at];
            if (c == '{')
            {
                var map = new Dictionary<string, object>();
                at++;
                SkipSpace(s, ref at);
                if (s[at] == '}') { at++; return map; }
                while (true)
                {
                    SkipSpace(s, ref at);
                    string key = ReadString(s, ref at);
                    SkipSpace(s, ref at);
                    Expect(s, ref at, ':');
                    map[key] = ReadValue(s, ref at);
                    SkipSpace(s, ref at);
                    if (s[at] == ',') { at++; continue; }
                    Expect(s, ref at, '}');
                    return map;
                }
            }
            if (c == '[')
            {
                var list = new List<object>();
                at++;
                SkipSpace(s, ref at);
                if (s[at] == ']') { at++; return list; }
                while (true)
                {
                    list.Add(ReadValue(s, ref at));
                    SkipSpace(s, ref at);
                    if (s[at] == ',') { at++; continue; }
                    Expect(s, ref at, ']');
                    return list;
                }
            }
            if (c == '"') return ReadString(s, ref at);
            if (s.Substring(at).StartsWith("true")) { at += 4; return true; }
            if (s.Substring(at).StartsWith("false")) { at += 5; return false; }
            if (s.Substring(at).StartsWith("null")) { at += 4; return null; }
            int start = at;
            while (at < s.Length && "+-0123456789.eE".IndexOf(s[at]) >= 0) at++;
            if (start == at) throw new FormatException("JSON: unexpected '" + c + "' at " + at);
            return double.Parse(s.Substring(start, at - start), CultureInfo.InvariantCulture);
        }

        static void Expect(string s, ref int at, char c)
        {
            if (at >= s.Length || s[at] != c) throw new FormatException("JSON: expected '" + c + "' at " + at);
            at++;
        }

        static string ReadString(string s, ref int at)
        {
            Expect(s, ref at, '"');
            var sb = new StringBuilder();
            while (true)
            {
                if (at >= s.Length) throw new FormatException("JSON: unterminated string");
                char c = s[at++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                char e = s[at++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'u':
                        sb.Append((char)int.Parse(s.Substring(at, 4), NumberStyles.HexNumber));
                        at += 4;
                        break;
                    default: sb.Append(e); break;
                }
            }
        }
    }
}
