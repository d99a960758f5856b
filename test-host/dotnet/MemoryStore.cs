// The console host's own account store, kept in memory and lent to the runtime through
// the service callback (--own-store): what ATRS does with its own database. Every call
// is answered under one lock; `apply` changes an account in one step; named locks wait
// up to the time asked and then answer timed_out.
using System;
using System.Collections.Generic;
using System.Threading;

namespace Atrs.ConsoleHost
{
    sealed class MemoryStore
    {
        // plugin → account → values
        readonly Dictionary<string, Dictionary<string, Dictionary<string, object>>> settings =
            new Dictionary<string, Dictionary<string, Dictionary<string, object>>>();
        readonly Dictionary<string, Dictionary<string, Dictionary<string, object>>> secrets =
            new Dictionary<string, Dictionary<string, Dictionary<string, object>>>();
        readonly object gate = new object();
        readonly Dictionary<string, long> heldLocks = new Dictionary<string, long>();
        long nextToken = 1;

        public int Calls;

        /// <summary>The service callback: every call the runtime makes.</summary>
        public bool Handle(string callJson, out string reply)
        {
            Interlocked.Increment(ref Calls);
            var call = Json.Object(callJson);
            string name = Json.Str(call, "call");
            reply = null;
            switch (name)
            {
                case "info":
                    reply = "{\"location\":\"the console host's memory\",\"sealed\":false}";
                    return true;
                case "check":
                    return true;
                case "log":
                    Console.Error.WriteLine("[" + Json.Str(call, "plugin") + "] " + Json.Str(call, "level") + ": " + Json.Str(call, "message"));
                    return true;
                case "open_url":
                    reply = "{\"error\":{\"message\":\"this console host shows addresses instead of opening them\",\"hint\":\"Open the address yourself.\"}}";
                    return false;
                case "lock":
                    return Lock(Json.Str(call, "name"), (double)Json.Get(call, "wait_ms"), out reply);
                case "unlock":
                    Unlock((long)(double)Json.Get(call, "token"));
                    return true;
            }
            lock (gate)
            {
                string plugin = Json.Str(call, "plugin");
                switch (name)
                {
                    case "accounts":
                        var listed = new List<object>();
                        foreach (var p in settings)
                        {
                            if (plugin != null && p.Key != plugin) continue;
                            foreach (var a in p.Value.Keys)
                            {
                                listed.Add(new Dictionary<string, object> { { "plugin", p.Key }, { "account", a } });
                            }
                        }
                        reply = Json.Write(new Dictionary<string, object> { { "accounts", listed } });
                        return true;
                    case "read_settings":
                        reply = Json.Write(new Dictionary<string, object> {
                            { "settings", Find(settings, plugin, Json.Str(call, "account")) } });
                        return true;
                    case "read_secret":
                        var values = Find(secrets, plugin, Json.Str(call, "account"));
                        object secret = null;
                        if (values != null) values.TryGetValue(Json.Str(call, "name"), out secret);
                        reply = Json.Write(new Dictionary<string, object> { { "secret", secret } });
                        return true;
                    case "apply":
                        Apply(plugin, (Dictionary<string, object>)Json.Get(call, "change"));
                        return true;
                }
            }
            reply = "{\"error\":{\"message\":\"unknown service call " + name + "\"}}";
            return false;
        }

        void Apply(string plugin, Dictionary<string, object> change)
        {
            string account = Json.Str(change, "account");
            switch (Json.Str(change, "change"))
            {
                case "settings":
                    Put(settings, plugin, account, (Dictionary<string, object>)change["values"]);
                    break;
                case "remove_settings":
                    Remove(settings, plugin, account);
                    break;
                case "secret":
                    var current = Find(secrets, plugin, account) ?? new Dictionary<string, object>();
                    current[Json.Str(change, "name")] = Json.Str(change, "value");
                    Put(secrets, plugin, account, current);
                    break;
                case "remove_secrets":
                    Remove(secrets, plugin, account);
                    break;
                case "account":
                    string replaces = Json.Str(change, "replaces");
                    if (replaces != null && replaces != account)
                    {
                        Remove(settings, plugin, replaces);
                        Remove(secrets, plugin, replaces);
                    }
                    Put(settings, plugin, account, (Dictionary<string, object>)change["settings"]);
                    var given = (Dictionary<string, object>)change["secrets"];
                    if (given.Count == 0) Remove(secrets, plugin, account);
                    else Put(secrets, plugin, account, given);
                    break;
                case "remove_account":
                    Remove(settings, plugin, account);
                    Remove(secrets, plugin, account);
                    break;
                default:
                    throw new ArgumentException("unknown change " + Json.Str(change, "change"));
            }
        }

        bool Lock(string name, double waitMs, out string reply)
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(waitMs);
            lock (heldLocks)
            {
                while (heldLocks.ContainsKey(name))
                {
                    TimeSpan left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero)
                    {
                        reply = "{\"error\":{\"kind\":\"timed_out\",\"message\":\"the lock is held\"}}";
                        return false;
                    }
                    Monitor.Wait(heldLocks, left);
                }
                long token = nextToken++;
                heldLocks[name] = token;
                reply = "{\"token\":" + token + "}";
                return true;
            }
        }

        void Unlock(long token)
        {
            lock (heldLocks)
            {
                string found = null;
                foreach (var pair in heldLocks) if (pair.Value == token) found = pair.Key;
                if (found != null) heldLocks.Remove(found);
                Monitor.PulseAll(heldLocks);
            }
        }

        /// <summary>What the store holds, without a single value: plugin/account and counts.</summary>
        public string Summary()
        {
            lock (gate)
            {
                var lines = new List<string>();
                foreach (var p in settings)
                {
                    foreach (var a in p.Value)
                    {
                        var s = Find(secrets, p.Key, a.Key);
                        lines.Add(p.Key + "/" + a.Key + " (" + a.Value.Count + " settings, " + (s == null ? 0 : s.Count) + " secrets)");
                    }
                }
                return lines.Count == 0 ? "nothing" : string.Join("; ", lines.ToArray());
            }
        }

        static Dictionary<string, object> Find(Dictionary<string, Dictionary<string, Dictionary<string, object>>> table, string plugin, string account)
        {
            Dictionary<string, Dictionary<string, object>> accounts;
            Dictionary<string, object> values;
            if (plugin == null || account == null || !table.TryGetValue(plugin, out accounts) || !accounts.TryGetValue(account, out values)) return null;
            return values;
        }

        static void Put(Dictionary<string, Dictionary<string, Dictionary<string, object>>> table, string plugin, string account, Dictionary<string, object> values)
        {
            Dictionary<string, Dictionary<string, object>> accounts;
            if (!table.TryGetValue(plugin, out accounts)) table[plugin] = accounts = new Dictionary<string, Dictionary<string, object>>();
            accounts[account] = new Dictionary<string, object>(values);
        }

        static void Remove(Dictionary<string, Dictionary<string, Dictionary<string, object>>> table, string plugin, string account)
        {
            Dictionary<string, Dictionary<string, object>> accounts;
            if (table.TryGetValue(plugin, out accounts)) accounts.Remove(account);
        }
    }
}
