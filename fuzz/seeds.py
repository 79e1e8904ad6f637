#!/usr/bin/env python3
"""Writes the hostile seed corpus under fuzz/corpus/<target>/ (run from fuzz/)."""
import os, struct

ROOT = os.path.dirname(os.path.abspath(__file__))
FEEDS = os.path.join(ROOT, "..", "tests", "fixtures", "feeds")

def write(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

RSS = ('<rss version="2.0"><channel><title>兰山发布</title><ttl>{ttl}</ttl>'
       '<item><title>义堂镇 - 转发 通知</title><link>https://example.gov.cn/a?utm_source=x</link>'
       '<description>来源：临沂日报</description><pubDate>Mon, 23 Nov 2026 08:00:00 +0800</pubDate></item>'
       '</channel></rss>')
def rss(ttl=5): return RSS.format(ttl=ttl)
def decl(enc): return f'<?xml version="1.0" encoding="{enc}"?>'

# --- feed_parse ---------------------------------------------------------
t = "feed_parse"
for name in ["weibo_rsshub.xml", "wechat_wewe.atom", "feed.json", "website.rss",
             "website.atom", "billion_laughs.xml", "xxe.xml", "malformed.xml",
             "error_page.html", "bilibili_rsshub.xml"]:
    write(t, name, open(os.path.join(FEEDS, name), "rb").read())
write(t, "utf16be_bom_declares_utf16.xml", b"\xfe\xff" + (decl("UTF-16") + rss()).encode("utf-16-be"))
write(t, "utf16le_bom_declares_gbk.xml", b"\xff\xfe" + (decl("GBK") + rss()).encode("utf-16-le"))
write(t, "utf16le_bom_declares_utf16be.xml", b"\xff\xfe" + (decl("UTF-16BE") + rss()).encode("utf-16-le"))
write(t, "utf16be_no_bom.xml", (decl("UTF-16") + rss()).encode("utf-16-be"))
write(t, "utf16le_no_bom_declares_utf8.xml", (decl("UTF-8") + rss()).encode("utf-16-le"))
write(t, "utf8_bom_declares_utf16.xml", b"\xef\xbb\xbf" + (decl("UTF-16") + rss()).encode())
write(t, "utf8_declares_gbk.xml", decl("gbk") + rss())
write(t, "gbk_declared.xml", (decl("GBK") + rss()).encode("gbk"))
write(t, "gb2312_declared.xml", (decl("gb2312") + rss()).encode("gbk"))
write(t, "gb18030_declared.xml", (decl("GB18030") + rss().replace("兰山发布", "兰山发布𠀀")).encode("gb18030"))
write(t, "gbk_undeclared.xml", rss().encode("gbk"))
write(t, "gbk_declared_utf8.xml", (decl("UTF-8") + rss()).encode("gbk"))
write(t, "big5_declared.xml", (decl("big5") + rss()).encode("big5", errors="xmlcharrefreplace"))
write(t, "second_declaration_late.xml", decl("UTF-8") + rss().replace("</channel>", "<x>" + "填充" * 60 + decl("UTF-16") + "</x></channel>"))
write(t, "declaration_with_padding.xml", '<?xml version="1.0"' + " " * 80 + 'encoding="GBK"?>' + rss())
write(t, "declaration_unterminated.xml", '<?xml version="1.0" encoding="UTF-16"')
write(t, "declaration_unknown_encoding.xml", decl("x-no-such") + rss())
write(t, "declaration_replacement_encoding.xml", decl("iso-2022-kr") + rss())
write(t, "ttl_u32_max.xml", rss(4294967295))
write(t, "ttl_u64_overflow.xml", rss(99999999999999999999))
write(t, "ttl_negative.xml", rss(-1))
write(t, "nuls.xml", rss().replace("<item>", "<item>\0\0").encode() + b"\0" * 10)
write(t, "nul_utf16_pattern.xml", b"\xff\xfe" + "<\0?\0xml?>".encode("utf-16-le") + rss().encode("utf-16-le"))
write(t, "truncated.xml", rss()[:120])
write(t, "truncated_utf16.xml", (b"\xfe\xff" + (decl("UTF-16") + rss()).encode("utf-16-be"))[:101])
write(t, "deep_nesting.xml", '<rss version="2.0"><channel><item><description>' + "<a>" * 4000 + "</a>" * 4000 + "</description></item></channel></rss>")
write(t, "deep_nesting.json", '{"version":"https://jsonfeed.org/version/1.1","title":"x","items":[' + "[" * 2000 + "]" * 2000 + "]}")
write(t, "json_chinese.json", '{"version":"https://jsonfeed.org/version/1.1","title":"兰山发布","items":[{"id":"1","title":"义堂镇 <?xml encoding=\\"gbk\\"?>","content_text":"来源：本站","date_published":"9999-12-31T23:59:59Z"}]}')
write(t, "json_utf16_bom.json", b"\xff\xfe" + '{"version":"https://jsonfeed.org/version/1","title":"兰山","items":[]}'.encode("utf-16-le"))
write(t, "json_gbk.json", '{"version":"https://jsonfeed.org/version/1","title":"兰山发布","items":[{"id":"1","title":"通知"}]}'.encode("gbk"))
write(t, "json_bad_dates.json", '{"version":"https://jsonfeed.org/version/1","items":[{"id":"1","date_published":"-262144-01-01T00:00:00Z"},{"id":"2","date_modified":"+275760-09-13T00:00:00Z"}]}')
write(t, "atom_extreme_dates.atom", '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>1</id><updated>9999-12-31T23:59:59Z</updated></entry><entry><id>2</id><published>0000-01-01T00:00:00-23:59</published></entry></feed>')
write(t, "rss_dates_overflow.xml", '<rss version="2.0"><channel><title>t</title><item><pubDate>Fri, 31 Dec 262143 23:59:59 -2359</pubDate></item></channel></rss>')
write(t, "html_gbk_captcha.html", "<!DOCTYPE html><html><head><title>安全验证</title></head><body>请输入验证码</body></html>".encode("gbk"))
write(t, "html_title_multibyte.html", "<html><TITLE>" + "验" * 500 + "</title></html>")
write(t, "html_title_unclosed.html", "<html><title>标题")
write(t, "empty", b"")
write(t, "whitespace_and_bom", b"\xef\xbb\xbf  \n\t")
write(t, "bom_only_utf16", b"\xfe\xff")
write(t, "odd_utf16_length.xml", b"\xff\xfe" + (decl("UTF-16") + rss()).encode("utf-16-le") + b"\x3c")
write(t, "invalid_utf8.xml", decl("UTF-8").encode() + b"<rss><channel><title>\xff\xfe\xc0\xaf</title></channel></rss>")
write(t, "rdf.xml", '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel><title>兰山</title></channel><item><title>一</title><link>http://mp.weixin.qq.com/s?__biz=a&amp;mid=1&amp;idx=1&amp;sn=x</link></item></rdf:RDF>')

# --- failure_classify ---------------------------------------------------
t = "failure_classify"
def fc(status, proxy, body):
    if isinstance(body, str): body = body.encode()
    return struct.pack(">H", status) + bytes([1 if proxy else 0]) + body
write(t, "rsshub_weibo_gone.bin", fc(503, True, open(os.path.join(FEEDS, "rsshub_weibo_gone.json"), "rb").read()))
write(t, "rsshub_error_html.bin", fc(503, True, open(os.path.join(FEEDS, "rsshub_error.html"), "rb").read()))
write(t, "json_nested.bin", fc(500, True, '{"error":' * 3000 + "1" + "}" * 3000))
write(t, "json_message_not_string.bin", fc(503, True, '{"error":{"message":["暂未发表作品"]}}'))
write(t, "html_code_unclosed.bin", fc(503, True, "<html><body><code>用户不存在"))
write(t, "html_code_multibyte.bin", fc(503, True, "<!DOCTYPE html><html><code>" + "风控" * 200 + "</code></html>"))
write(t, "gbk_body.bin", fc(403, False, "<html><title>请登录</title></html>".encode("gbk")))
write(t, "status_zero.bin", fc(0, False, ""))
write(t, "status_max.bin", fc(65535, False, "too many requests"))
write(t, "nuls.bin", fc(429, True, b"\0" * 64))
write(t, "cut_inside_char.bin", fc(503, False, "a" * (64 * 1024 - 1) + "验证码"))
write(t, "script_unclosed.bin", fc(503, True, "<html><script>" + "x" * 100))

# --- schedule_headers ---------------------------------------------------
t = "schedule_headers"
# Lines: Cache-Control, Retry-After, Content-Type, ttl minutes, outcome index, failures, interval minutes.
def sh(*lines): return "\n".join(str(l) for l in lines)
write(t, "max_age_u64_max", sh("max-age=18446744073709551615", "", "", "", 0, 0, 120))
write(t, "max_age_1e13", sh("max-age=10000000000000", "", "", "", 1, 0, 120))
write(t, "max_age_1e11", sh("max-age=1e11", "", "", "", 0, 0, 120))
write(t, "max_age_100000000000", sh("public, max-age=100000000000", "", "", "", 0, 0, 120))
write(t, "max_age_overflow_digits", sh("s-maxage=\"999999999999999999999999\"", "", "", "", 6, 3, 120))
write(t, "retry_after_u64_max", sh("", "18446744073709551615", "", "", 4, 1, 120))
write(t, "retry_after_1e13", sh("", "10000000000000", "", "", 4, 1, 120))
write(t, "retry_after_date_far", sh("", "Fri, 31 Dec 9999 23:59:59 GMT", "", "", 4, 1, 120))
write(t, "retry_after_date_past", sh("", "Thu, 01 Jan 1970 00:00:00 GMT", "", "", 4, 1, 120))
write(t, "retry_after_zero", sh("", "0", "", "", 4, 1, 120))
write(t, "ttl_u32_max", sh("", "", "", 4294967295, 0, 0, 120))
write(t, "failures_u32_max", sh("max-age=86401", "86401", "", 4294967295, 6, 4294967295, 120))
write(t, "interval_u32_max", sh("", "", "", "", 0, 0, 4294967295))
write(t, "content_type_gbk", sh("no-cache", "", "application/rss+xml; charset=\"GBK\"", 5, 0, 0, 120))
write(t, "chinese_and_nul", sh("max-age=七", "一天", "text/xml;charset=\0", "五", "零", "", ""))

# --- accounts_toml ------------------------------------------------------
t = "accounts_toml"
write(t, "accounts.toml", open(os.path.join(ROOT, "..", "accounts.toml"), "rb").read())
write(t, "deep_arrays.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
write(t, "deep_inline_tables.toml", "x = " + "{a=" * 2000 + "1" + "}" * 2000 + "\n")
write(t, "huge_numbers.toml", '[[unit]]\nid = "u1"\nname = "义堂镇"\nkind = "town"\ncontacts = [{ name = "周磊", telegram_id = 99999999999999999999 }]\n[[account]]\nid = "a1"\nunit = "u1"\nplatform = "weibo"\nname = "兰山发布"\nproxy = "rsshub"\nroute = "/weibo/user/1"\nthresholds = { update_days = 18446744073709551615 }\n')
write(t, "negative_numbers.toml", '[[unit]]\nid = "u1"\nname = "x"\nkind = "town"\ncontacts = [{ name = "x", telegram_id = -9223372036854775808 }]\n[[account]]\nid = "a1"\nunit = "u1"\nplatform = "weibo"\nname = "x"\nfeed = "https://example.com/rss"\nthresholds = { update_days = -1 }\n')
write(t, "chinese_keys_and_nul.toml", '[[单位]]\n名称 = "义堂镇\\u0000"\n[[unit]]\nid = "义堂镇"\nname = "\\u0000"\nkind = "镇"\n')
write(t, "bad_dates.toml", '[[account]]\nid = "a1"\nunit = "u1"\nplatform = "weibo"\nname = "x"\nfeed = "https://user:pass@example.com/"\nsince = 1979-05-27T07:32:00Z\nopened = 9999-99-99\n')
write(t, "truncated.toml", '[[unit]]\nid = "u1"\nname = "兰')
write(t, "wrong_types.toml", 'unit = 1\naccount = [1, "a", {}]\n[[x]]\n')
write(t, "long_values.toml", '[[unit]]\nid = "' + "a" * 5000 + '"\nname = "' + "义" * 5000 + '"\nkind = "town"\n')

# --- chat_command -------------------------------------------------------
t = "chat_command"
for i, text in enumerate(["7d", "12h", "2w", "7天", "天", "7日", "90d", "91d", "0d", "-1d", "",
                          "9223372036854775807w", "9223372036854775807h", "99999999999999999999d",
                          "１２d", "7d\0", "d", "h7", "7 d", "７天", "🔁"]):
    write(t, f"seed_{i:02}", text)

# --- feishu_frame -------------------------------------------------------
# pbbp2.Frame by hand: SeqID=1, LogID=2, service=3, method=4 (varints),
# headers=5 (Header{key=1, value=2}), payload=8 (bytes).
t = "feishu_frame"
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])
def vfield(tag, n): return varint(tag << 3) + varint(n)
def lfield(tag, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return varint(tag << 3 | 2) + varint(len(data)) + data
def hdr(key, value): return lfield(5, lfield(1, key) + lfield(2, value))
def frame(method, headers, payload=None, service=33):
    out = vfield(1, 7) + vfield(2, 1234567) + vfield(3, service) + vfield(4, method)
    for k, v in headers:
        out += hdr(k, v)
    if payload is not None:
        out += lfield(8, payload)
    return out
EVENT = ('{"schema":"2.0","header":{"event_id":"ev-1","event_type":"im.message.receive_v1"},'
         '"event":{"sender":{"sender_id":{"open_id":"ou_admin"},"sender_type":"user"},'
         '"message":{"message_id":"om_1","chat_id":"oc_1","chat_type":"group","message_type":"text",'
         '"content":"{\\"text\\":\\"@_user_1 /status 兰山\\"}","mentions":[{"key":"@_user_1"}]}}}')
data = [("type", "event"), ("message_id", "m1"), ("sum", "1"), ("seq", "0"), ("trace_id", "t")]
write(t, "ping", frame(0, [("type", "ping")]))
write(t, "pong_config", frame(0, [("type", "pong")], '{"PingInterval":120,"ReconnectCount":-1}'))
write(t, "pong_garbage", frame(0, [("type", "pong")], b"\xff\xfe{"))
write(t, "event", frame(1, data, EVENT))
write(t, "event_other", frame(1, data, '{"schema":"2.0","header":{"event_id":"e","event_type":"x"},"event":{}}'))
write(t, "event_not_json", frame(1, data, "not json"))
write(t, "event_content_not_json", frame(1, data, EVENT.replace('{\\"text\\":', '{{')))
write(t, "three_parts", frame(1, [("type", "event"), ("message_id", "m"), ("sum", "3"), ("seq", "1")], EVENT[:40]))
write(t, "huge_sum", frame(1, [("type", "event"), ("message_id", "m"), ("sum", "18446744073709551615"), ("seq", "5")], "x"))
write(t, "seq_past_sum", frame(1, [("type", "event"), ("message_id", "m"), ("sum", "2"), ("seq", "9")], "x"))
write(t, "negative_sum", frame(1, [("type", "event"), ("sum", "-2"), ("seq", "-1")], "x"))
write(t, "card", frame(1, [("type", "card"), ("message_id", "m")], "{}"))
write(t, "unknown_method", frame(9, [("type", "event")], EVENT))
write(t, "no_headers", frame(1, [], EVENT))
write(t, "long_length", vfield(1, 1) + varint(8 << 3 | 2) + varint(2**31) + b"abc")
write(t, "bad_utf8_key", vfield(4, 1) + lfield(5, lfield(1, b"\xff\xfe") + lfield(2, "v")))
write(t, "wire_type_7", bytes([0x0F, 1, 2, 3]))
write(t, "varint_overflow", bytes([0x08] + [0xFF] * 11))
write(t, "text_json", '{"type":"event","payload":"x"}')
write(t, "empty", b"")
write(t, "deep_json", frame(1, data, "[" * 5000 + "]" * 5000))

# --- content_text -------------------------------------------------------
# Inputs are read both as a stored row (a mark byte, then UTF-16, UTF-8, an
# LZ4 block or a raw deflate stream) and as a description's HTML.
t = "content_text"
import zlib
def utf16_row(text): return b"\xff" + text.encode("utf-16-le")
def utf8_row(text): return b"\xf7" + text.encode("utf-8")
PROSE = "兰山区政务新媒体检查发现，部分账号长期未更新。台湾总统一词应改为台湾地区领导人。王明县长出席会议。"
write(t, "prose_utf16_row", utf16_row(PROSE))
write(t, "prose_utf8_row", utf8_row(PROSE))
write(t, "emoji_and_astral_utf16_row", utf16_row("表情😀与𠀀" * 3))
write(t, "lone_high_surrogate_row", b"\xff" + struct.pack("<HHH", 0x4E2D, 0xD800, 0x0041))
write(t, "lone_low_surrogate_row", b"\xff" + struct.pack("<HH", 0xDC00, 0x4E2D))
write(t, "odd_utf16_row", b"\xff\x2d\x4e\x87")
write(t, "lz4_mark_short", b"\xfe\x01\x00")
write(t, "lz4_huge_length", b"\xfe\xff\xff\xff\xff" + b"\x10a")
deflater = zlib.compressobj(1, zlib.DEFLATED, -15)
write(t, "deflate_row", deflater.compress(PROSE.encode()) + deflater.flush())
write(t, "html_description", "<p>" + PROSE + "</p><p>&nbsp;第二段&amp;&#x4e2d;&#20013;</p><script>台湾总统</script>")
write(t, "html_unclosed_tags", "<p <b 台湾<!-- 注释 --> 政府 <style>x" + "<" * 50)
write(t, "html_entities_odd", "&#0;&#xD800;&#99999999;&bogus;&amp;amp;&lt;p&gt;台湾&#x653F;府")
write(t, "controls_and_blanks", "\u3000\u00a0\u200b\u202e台湾\t\r\n \u2028政府\ufeff  ")
write(t, "runs_of_four_broken", "政务公开a政务公开é政务公开😀政务公开\u0800\uffff")
write(t, "id_numbers_and_phones", "身份证号 11010519491231002X 电话 13800138000 台湾政府")
write(t, "long_chinese", "政务新媒体" * 4500)  # past the 64 KB a post keeps
write(t, "not_utf8", b"\xc3\x28\xa0\xa1\xe2\x28\xa1")
write(t, "empty", b"")
