// A console host that does what ATRS does, through libatrs_host: list the integrations,
// show the Office 365 form, Add → Verify by device code (showing the code and address) →
// Save & Close, list the accounts with their health, get an access token and send a test
// message. Unattended: the values come from the command line.
//
//   mono atrs-dotnet-host.exe --plugins DIR (--store DIR | --own-store) --authority URL
//        --client-id ID --tenant-id TENANT --account NAME [--send-to ADDRESS]
//
// --own-store keeps the accounts in this program's memory (MemoryStore), lent to the
// runtime through the service callback, as ATRS keeps them in its own database.
// Exit code 0 when every step succeeded, 1 otherwise.
using System;
using System.Collections.Generic;
using System.Threading;
using Atrs.Hosting;

namespace Atrs.ConsoleHost
{
    static class Program
    {
        static int Main(string[] args)
        {
            var options = new Dictionary<string, string>();
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--own-store") { options["own-store"] = "yes"; continue; }
                if (!args[i].StartsWith("--") || i + 1 >= args.Length)
                {
                    Console.Error.WriteLine("Unexpected argument " + args[i] + ". See the usage at the top of ConsoleHost.cs.");
                    return 2;
                }
                options[args[i].Substring(2)] = args[++i];
            }
            foreach (string required in new[] { "plugins", "authority", "client-id", "tenant-id", "account" })
            {
                if (!options.ContainsKey(required))
                {
                    Console.Error.WriteLine("Missing --" + required + ".");
                    return 2;
                }
            }
            MemoryStore own = options.ContainsKey("own-store") ? new MemoryStore() : null;
            var runtimeOptions = new Dictionary<string, object> {
                { "plugins_dir", options["plugins"] },
                { "call_timeout_ms", 30000.0 },
            };
            string store;
            if (options.TryGetValue("store", out store)) runtimeOptions["store"] = store;

            Console.WriteLine("ATRS host runtime, protocol " + AtrsRuntime.ProtocolVersion);
            try
            {
                using (var runtime = own == null
                    ? new AtrsRuntime(Json.Write(runtimeOptions))
                    : new AtrsRuntime(Json.Write(runtimeOptions), own.Handle))
                {
                    bool ok = Run(runtime, options);
                    if (own != null)
                    {
                        Console.WriteLine("Own store holds: " + own.Summary() + " after " + own.Calls + " service calls.");
                    }
                    Console.WriteLine(ok ? "All steps succeeded." : "A step failed.");
                    return ok ? 0 : 1;
                }
            }
            catch (AtrsException e)
            {
                Console.WriteLine("The runtime did not open: " + Message(Json.Parse(e.Answer)));
                return 1;
            }
        }

        static bool Run(AtrsRuntime runtime, Dictionary<string, string> options)
        {
            var plugins = Ask(runtime, new Dictionary<string, object> { { "request", "plugins" } });
            if (plugins == null) return false;
            Console.WriteLine("Integrations:");
            foreach (Dictionary<string, object> p in (List<object>)plugins["plugins"])
            {
                Console.WriteLine(Json.Str(p, "status") == "loaded"
                    ? "  " + Json.Str(p, "name") + " " + Json.Str(p, "version") + " (" + Json.Str(p, "id") + ")"
                    : "  refused: " + Json.Str(p, "path") + " — " + Json.Str(p, "message"));
            }

            var form = Ask(runtime, new Dictionary<string, object> { { "request", "form" }, { "plugin", "office365" } });
            if (form == null) return false;
            Console.WriteLine("Office 365 → Add:");
            foreach (Dictionary<string, object> f in (List<object>)form["fields"])
            {
                string flags = ((bool)f["required"] ? " (required)" : "") + (Json.Str(f, "kind") == "secret" ? " (secret)" : "");
                Console.WriteLine("  " + Json.Str(f, "label") + flags);
            }

            string account = options["account"];
            var values = new Dictionary<string, object> {
                { "account_name", account },
                { "client_id", options["client-id"] },
                { "tenant_id", options["tenant-id"] },
                { "authority", options["authority"] },
                { "scopes", "openid profile offline_access User.Read Mail.Send" },
            };
            var started = Ask(runtime, new Dictionary<string, object> {
                { "request", "verify.start" }, { "plugin", "office365" }, { "values", values }, { "method", "device_code" } });
            if (started == null) return false;
            double session = (double)started["handle"];
            Console.WriteLine("Verify:");
            Dictionary<string, object> state = null;
            string shown = null;
            DateTime deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                state = Ask(runtime, new Dictionary<string, object> { { "request", "verify.poll" }, { "handle", session }, { "wait_ms", 500.0 } });
                if (state == null) return false;
                string name = Json.Str(state, "state");
                if (name == "show_code" && shown != Json.Str(state, "user_code"))
                {
                    shown = Json.Str(state, "user_code");
                    Console.WriteLine("  To sign in, open " + Json.Str(state, "verification_uri") + " and enter the code " + shown + ".");
                }
                if (name == "verified" || name == "failed") break;
            }
            if (state == null || Json.Str(state, "state") != "verified")
            {
                Console.WriteLine("  Not verified: " + (state == null ? "no answer" : Message(state)));
                return false;
            }
            Console.WriteLine("  Verified: signed in as " + Json.Str(state, "account", "display_name") + " (" + Json.Str(state, "account", "user_principal_name") + ").");

            var saved = Ask(runtime, new Dictionary<string, object> { { "request", "save" }, { "handle", session } });
            if (saved == null) return false;
            Console.WriteLine("Save & Close: saved \"" + Json.Str(saved, "account") + "\".");

            var accounts = Ask(runtime, new Dictionary<string, object> { { "request", "accounts" } });
            if (accounts == null) return false;
            Console.WriteLine("Accounts (" + Json.Str(accounts, "store", "backend") + " store):");
            foreach (Dictionary<string, object> a in (List<object>)accounts["accounts"])
            {
                string reason = Json.Str(a, "health", "reason");
                Console.WriteLine("  " + Json.Str(a, "account") + ": " + Json.Str(a, "health", "state") + (string.IsNullOrEmpty(reason) ? "" : " — " + reason));
            }

            var token = Ask(runtime, new Dictionary<string, object> { { "request", "token" }, { "account", account } });
            if (token == null) return false;
            string expires = DateTimeOffset.FromUnixTimeSeconds((long)(double)token["expires_at"]).ToString("u");
            Console.WriteLine("Access token: " + Json.Str(token, "source") + ", valid until " + expires + ", " + ((string)token["token"]).Length + " characters.");

            string to;
            if (!options.TryGetValue("send-to", out to)) return true;
            var mail = new Dictionary<string, object> {
                { "to", new List<object> { to } },
                { "subject", "ATRS test message from the .NET host" },
                { "body", "Sent through libatrs_host." },
            };
            var delivery = Ask(runtime, new Dictionary<string, object> {
                { "request", "delivery.start" }, { "account", account }, { "mail", mail } });
            if (delivery == null) return false;
            double handle = (double)delivery["handle"];
            deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                var progress = Ask(runtime, new Dictionary<string, object> { { "request", "delivery.poll" }, { "handle", handle }, { "wait_ms", 500.0 } });
                if (progress == null) return false;
                string name = Json.Str(progress, "state");
                if (name == "done")
                {
                    Console.WriteLine("Send test message: " + Json.Str(progress, "receipt", "summary"));
                    Ask(runtime, new Dictionary<string, object> { { "request", "delivery.end" }, { "handle", handle } });
                    return true;
                }
                if (name == "failed")
                {
                    Console.WriteLine("Send test message failed: " + Message(progress));
                    return false;
                }
            }
            Console.WriteLine("Send test message: no answer within 60 s.");
            return false;
        }

        /// <summary>Sends a request; prints the error and answers null when it failed.</summary>
        static Dictionary<string, object> Ask(AtrsRuntime runtime, Dictionary<string, object> request)
        {
            var answer = Json.Object(runtime.Request(Json.Write(request)));
            if (answer["ok"] is bool && (bool)answer["ok"]) return answer;
            Console.WriteLine(Json.Str(request, "request") + " failed: " + Message(answer));
            return null;
        }

        static string Message(object answer)
        {
            string message = Json.Str(answer, "error", "message") ?? "(no message)";
            string hint = Json.Str(answer, "error", "hint");
            return hint == null ? message : message + " " + hint;
        }
    }
}
