#!/usr/bin/env python3
"""Writes the CSV fixtures of tests/csv_nodes.rs. Run from this folder: python3 make_data.py.

Every file is small and deterministic; the encoded ones have a UTF-8 twin (`*_expected.csv`)
holding the text they must read as.
"""

TICKETS = (
    "ticket_id,created_at,day,amount,channel,customer_name,phone,satisfaction,subject\n"
    "10000001,2024-01-01T00:00:30+08:00,2024-01-01,12.50,phone,刘艳,13867827638,,\"Question about Smart Speaker, warranty and return policy\"\n"
    "10000002,2024-01-01T00:02:05+08:00,2024-01-02,3.75,web,\"Wong, Kevin\",13274093639,4,\"账户被冻结, 请尽快处理 (489)\"\n"
    "10000003,2024-01-01T00:02:18Z,2024-01-03,0.99,wechat,O'Neil,18143524491,2,\"Complaint: agent was rude, \"\"not received\"\"\"\n"
    "10000004,2024-01-01T00:02:22+08:00,2024-01-04,100.00,app,欧阳子轩,13584214382,5,Gift card 无法开机，已重启4次\n"
    "10000005,2024-01-01T00:03:00-05:30,2024-01-05,7.10,email,王秀英,13000000000,,\"line one\nline two\"\n"
)

CHINESE = "客户,城市,备注\n张三,北京,\"你好, 世界\"\n李四,上海,退款已处理\n王五,广州,\n"

BROKEN = (
    "id,name,score\n"
    "1,alice,10\n"
    "2,bob,20\n"
    "3,carol\n"          # line 4: one field short
    "4,dave,40\n"
    "5,eve,50,extra\n"   # line 6: one field too many
    "6,frank,60\n"
)

TYPES = "phone,age,name\n013812345678,30,张三\n13900000000,abc,李四\n13700000000,41,王五\n"


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


def main():
    write("tickets.csv", TICKETS.encode("utf-8"))
    write("chinese_expected.csv", CHINESE.encode("utf-8"))
    write("gbk.csv", CHINESE.encode("gbk"))
    write("utf16le_bom.csv", b"\xff\xfe" + CHINESE.encode("utf-16-le"))
    write("utf8_bom.csv", b"\xef\xbb\xbf" + CHINESE.encode("utf-8"))
    write("broken.csv", BROKEN.encode("utf-8"))
    write("types.csv", TYPES.encode("utf-8"))
    write("empty.csv", b"")
    write("header_only.csv", b"id,name,city\n")
    # A quote opened on line 3 and never closed, followed by enough lines to pass 4 KiB.
    lines = ["id,note", "1,fine", '2,"never closed'] + [f"{i},filler text for the open quote" for i in range(3, 300)]
    write("open_quote.csv", ("\n".join(lines) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
