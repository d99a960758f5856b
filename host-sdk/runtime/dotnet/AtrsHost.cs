// The .NET binding of libatrs_host (atrs_host.h): the ATRS host runtime for C# hosts.
//
// One class, AtrsRuntime: open it (over the runtime's own store, or over host services
// your application supplies through one callback), send requests of the runtime's JSON
// protocol with Request, and dispose it. Every answer the library returns is copied and
// freed at once (AnswerHandle), so nothing leaks; the runtime itself is a SafeHandle,
// closed exactly once even if Dispose is forgotten. Plain P/Invoke with UTF-8 byte
// arrays: it builds unchanged with Mono's mcs and with .NET on Windows (atrs_host.dll).
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Atrs.Hosting
{
    /// <summary>A failure to open the runtime; Answer is its JSON error answer.</summary>
    public sealed class AtrsException : Exception
    {
        public string Answer { get; private set; }

        public AtrsException(string answer) : base(answer) { Answer = answer; }
    }

    /// <summary>The service callback: the call as JSON in, the reply as JSON out (null for
    /// none). Return true when the call succeeded. Called from any thread.</summary>
    public delegate bool ServiceHandler(string callJson, out string replyJson);

    /// <summary>An open host runtime.</summary>
    public sealed class AtrsRuntime : IDisposable
    {
        const string Library = "atrs_host";

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        delegate int NativeCallback(IntPtr context, IntPtr callJson, IntPtr reply);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        static extern RuntimeHandle atrs_host_open(byte[] optionsJson, out AnswerHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        static extern RuntimeHandle atrs_host_open_with_services(
            byte[] optionsJson, NativeCallback services, IntPtr context, out AnswerHandle error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        static extern AnswerHandle atrs_host_request(RuntimeHandle host, byte[] requestJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        static extern void atrs_host_free(IntPtr text);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        static extern void atrs_host_close(IntPtr host);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        static extern IntPtr atrs_host_protocol_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        static extern int atrs_reply_set(IntPtr reply, byte[] json);

        /// <summary>The runtime handle: closed once, by Dispose or the finalizer.</summary>
        sealed class RuntimeHandle : SafeHandle
        {
            RuntimeHandle() : base(IntPtr.Zero, true) { }

            public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

            protected override bool ReleaseHandle()
            {
                atrs_host_close(handle);
                return true;
            }
        }

        /// <summary>A text the library returned: freed once, right after it is read.</summary>
        sealed class AnswerHandle : SafeHandle
        {
            AnswerHandle() : base(IntPtr.Zero, true) { }

            public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

            protected override bool ReleaseHandle()
            {
                atrs_host_free(handle);
                return true;
            }

            public string Read()
            {
                return IsInvalid ? null : FromUtf8(handle);
            }
        }

        readonly RuntimeHandle host;
        // Kept alive as long as the runtime: the library calls it from its own threads.
        readonly NativeCallback callback;
        readonly ServiceHandler services;

        /// <summary>Opens a runtime over its own store. optionsJson: {"plugins_dir": …,
        /// "store": …, "call_timeout_ms": …}.</summary>
        public AtrsRuntime(string optionsJson) : this(optionsJson, null) { }

        /// <summary>Opens a runtime whose account store, log and browser opener are your
        /// application's, reached through services (see atrs_host.h for the calls).</summary>
        public AtrsRuntime(string optionsJson, ServiceHandler services)
        {
            AnswerHandle error;
            if (services == null)
            {
                host = atrs_host_open(ToUtf8(optionsJson), out error);
            }
            else
            {
                this.services = services;
                callback = OnServiceCall;
                host = atrs_host_open_with_services(ToUtf8(optionsJson), callback, IntPtr.Zero, out error);
            }
            using (error)
            {
                if (host.IsInvalid)
                {
                    throw new AtrsException(error.Read() ?? "{\"ok\":false}");
                }
            }
        }

        /// <summary>The protocol version the library speaks (MAJOR.MINOR).</summary>
        public static string ProtocolVersion
        {
            get { return FromUtf8(atrs_host_protocol_version()); }
        }

        /// <summary>Answers one request (a JSON object) with one JSON object.</summary>
        public string Request(string requestJson)
        {
            using (AnswerHandle answer = atrs_host_request(host, ToUtf8(requestJson)))
            {
                return answer.Read() ?? "{\"ok\":false,\"error\":{\"kind\":\"internal\",\"origin\":\"host\",\"message\":\"No answer (out of memory).\",\"hint\":null}}";
            }
        }

        /// <summary>Cancels what still runs, closes every plugin and frees the runtime.</summary>
        public void Dispose()
        {
            host.Dispose();
            GC.KeepAlive(callback);
        }

        int OnServiceCall(IntPtr context, IntPtr callJson, IntPtr reply)
        {
            try
            {
                string answer;
                bool ok = services(FromUtf8(callJson), out answer);
                if (answer != null)
                {
                    atrs_reply_set(reply, ToUtf8(answer));
                }
                return ok ? 0 : 1;
            }
            catch (Exception e)
            {
                // An exception must not unwind into native code: it becomes the call's error.
                string message = e.Message.Replace("\\", "\\\\").Replace("\"", "\\\"");
                atrs_reply_set(reply, ToUtf8("{\"error\":{\"message\":\"" + message + "\"}}"));
                return 1;
            }
        }

        static byte[] ToUtf8(string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text ?? "");
            byte[] terminated = new byte[bytes.Length + 1];
            Buffer.BlockCopy(bytes, 0, terminated, 0, bytes.Length);
            return terminated;
        }

        static string FromUtf8(IntPtr text)
        {
            if (text == IntPtr.Zero)
            {
                return null;
            }
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0)
            {
                length++;
            }
            byte[] bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }
    }
}
