"""Messages of the command line in Vietnamese (the default) and English, by key.

`message(key, language, **values)` formats the text of `key` in `language` with
`str.format` placeholders and returns it NFC-normalised. Every key has both
languages with the same placeholders; a test checks that.
"""

from __future__ import annotations

import unicodedata

from exporters.tables import Language

MESSAGES: dict[str, tuple[str, str]] = {
    # Errors that stop a command.
    "error_prefix": ("Lỗi", "Error"),
    "config_invalid": (
        "Cấu hình không hợp lệ: {detail}",
        "Invalid configuration: {detail}",
    ),
    "date_invalid": (
        "Ngày {value!r} không hợp lệ: hãy viết theo dạng YYYY-MM-DD, ví dụ 2026-11-05",
        "Invalid date {value!r}: write it as YYYY-MM-DD, for example 2026-11-05",
    ),
    "month_invalid": (
        "Tháng {value!r} không hợp lệ: hãy viết theo dạng YYYY-MM, ví dụ 2026-11",
        "Invalid month {value!r}: write it as YYYY-MM, for example 2026-11",
    ),
    "range_reversed": (
        "--from {date_from} sau --to {date_to}: hãy đổi chỗ hai ngày",
        "--from {date_from} is after --to {date_to}: swap the two dates",
    ),
    "range_half": (
        "Cần cả --from và --to, hoặc không có cái nào",
        "Give both --from and --to, or neither",
    ),
    "out_escapes": (
        "--out {value} nằm ngoài thư mục xuất {directory}: hãy dùng đường dẫn tuyệt đối nếu thật sự muốn ghi ra ngoài",
        "--out {value} leads outside the export folder {directory}: give an absolute path if you mean to write there",
    ),
    "store_unavailable": (
        "Không mở được cơ sở dữ liệu {path}: {detail}. Hãy kiểm tra quyền ghi và dung lượng đĩa",
        "Cannot open the database {path}: {detail}. Check write permission and free disk space",
    ),
    "job_failed": (
        "{job} thất bại: {detail}",
        "{job} failed: {detail}",
    ),
    "sheets_not_configured": (
        "Chưa khai báo Google Sheet: đặt sheets.spreadsheet trong {config} là khóa hoặc URL của bảng tính",
        "No Google Sheet configured: set sheets.spreadsheet in {config} to the spreadsheet's key or URL",
    ),
    # serve
    "serve_listening": (
        "Bộ nhận webhook: http://{host}:{port}/webhooks/acheckin — cơ sở dữ liệu {database}",
        "Webhook receiver: http://{host}:{port}/webhooks/acheckin — database {database}",
    ),
    "serve_schedule": (
        "Tổng hợp chấm công mỗi {minutes} phút; xuất bảng chấm công hằng đêm lúc {export_at}",
        "Rollup every {minutes} minutes; nightly timesheet export at {export_at}",
    ),
    "no_api_key": (
        "CHƯA CÓ KHÓA API: ai truy cập được cổng này cũng gửi được dữ liệu chấm công. "
        "Hãy đặt ACHECKIN_SYNC_API_KEYS hoặc ingest.api_keys_file, và cùng khóa đó trong ACheckin CMS.",
        "NO API KEY CONFIGURED: anyone who can reach this port can send attendance data. "
        "Set ACHECKIN_SYNC_API_KEYS or ingest.api_keys_file, and the same key in the ACheckin CMS.",
    ),
    # rollup, export, replay
    "rollup_done": (
        "Đã tính lại {dates} ngày của {employees} nhân viên. Tháng có thay đổi: {months}",
        "Recomputed {dates} dates of {employees} employees. Months changed: {months}",
    ),
    "none": ("không có", "none"),
    "never": ("chưa có", "never"),
    "excel_written": (
        "Đã ghi bảng chấm công tháng {month}: {path}",
        "Timesheet of {month} written: {path}",
    ),
    "sheets_written": (
        "Đã ghi {tabs} tab của tháng {month} vào Google Sheet ({calls} lần gọi API): {url}",
        "Wrote {tabs} tabs of {month} to the Google Sheet ({calls} API calls): {url}",
    ),
    "replay_done": (
        "Xử lý lại hàng chờ lỗi: {accepted} đã nhận, {failing} vẫn lỗi",
        "Quarantine replayed: {accepted} accepted, {failing} still failing",
    ),
    "replay_failure": (
        "  #{id}: {reason}",
        "  #{id}: {reason}",
    ),
    # backup, restore
    "backup_written": (
        "Đã sao lưu cơ sở dữ liệu vào {path} ({size} byte)",
        "Database backed up to {path} ({size} bytes)",
    ),
    "restore_confirm": (
        "Thay cơ sở dữ liệu {database} bằng bản sao lưu {backup}? Dữ liệu hiện tại sẽ mất",
        "Replace the database {database} with the backup {backup}? The current data will be lost",
    ),
    "restore_while_serving": (
        "Có tiến trình đang nhận kết nối ở {host}:{port}: hãy dừng acheckin-sync serve trước khi khôi phục",
        "Something is accepting connections on {host}:{port}: stop acheckin-sync serve before restoring",
    ),
    "restored": (
        "Đã khôi phục {database} từ {backup}",
        "Restored {database} from {backup}",
    ),
    # status
    "status_title": ("Trạng thái acheckin-sync", "acheckin-sync status"),
    "status_deliveries_today": ("Lượt gửi hôm nay", "Deliveries today"),
    "status_last_delivery": ("Lượt gửi gần nhất", "Last delivery"),
    "status_quarantine": ("Hàng chờ lỗi (quarantine)", "Quarantine size"),
    "status_last_rollup": ("Lần tổng hợp gần nhất", "Last rollup"),
    "status_last_export": ("Lần xuất gần nhất", "Last export"),
    "status_conflicts": ("Xung đột ca trong tháng {month}", "Shift conflicts in {month}"),
    "conflict_user": ("Mã NV", "Employee id"),
    "conflict_date": ("Ngày", "Date"),
    "conflict_groups": ("Ca ACheckin gửi khác nhau", "Differing ACheckin shifts"),
    "status_run": ("{moment} ({outcome}{target})", "{moment} ({outcome}{target})"),
    # doctor
    "doctor_title": ("Kiểm tra cài đặt", "Set-up check"),
    "doctor_config_ok": ("Cấu hình hợp lệ: {path}", "Configuration valid: {path}"),
    "doctor_database_ok": ("Ghi được cơ sở dữ liệu: {path}", "Database writable: {path}"),
    "doctor_database_failed": (
        "Không ghi được cơ sở dữ liệu {path}: {detail}. Hãy kiểm tra quyền ghi thư mục và dung lượng đĩa",
        "Cannot write the database {path}: {detail}. Check the folder's write permission and free disk space",
    ),
    "doctor_export_ok": ("Ghi được thư mục xuất: {path}", "Export folder writable: {path}"),
    "doctor_export_failed": (
        "Không ghi được thư mục xuất {path}: {detail}. Hãy tạo thư mục hoặc đổi export.directory",
        "Cannot write the export folder {path}: {detail}. Create it or change export.directory",
    ),
    "doctor_keys_ok": ("Đã cấu hình {count} khóa API", "{count} API keys configured"),
    "doctor_keys_missing": (
        "Chưa có khóa API: đặt ACHECKIN_SYNC_API_KEYS hoặc ingest.api_keys_file, rồi nhập cùng khóa trong ACheckin CMS",
        "No API key configured: set ACHECKIN_SYNC_API_KEYS or ingest.api_keys_file, then enter the same key in the ACheckin CMS",
    ),
    "doctor_sheets_off": (
        "Google Sheets chưa bật (sheets.spreadsheet để trống)",
        "Google Sheets is off (sheets.spreadsheet is empty)",
    ),
    "doctor_all_ok": ("Mọi kiểm tra đều đạt.", "Every check passed."),
    "doctor_failed": ("{count} kiểm tra chưa đạt; sửa theo hướng dẫn ở trên.", "{count} checks failed; fix them as described above."),
    # demo
    "demo_receiver": ("Bộ nhận thử nghiệm chạy tại {url}", "Demo receiver running at {url}"),
    "demo_posted": (
        "Đã gửi {count} lượt chấm công của {employees} nhân viên (tháng {month}) qua HTTP",
        "Posted {count} check-ins of {employees} employees ({month}) over HTTP",
    ),
    "demo_rolled_up": ("Đã tổng hợp chấm công: {dates} ngày của {employees} nhân viên", "Rolled up {dates} dates of {employees} employees"),
    "demo_done": (
        "Xong. Mở bảng chấm công: {path}\nCơ sở dữ liệu thử nghiệm: {database}",
        "Done. Open the timesheet: {path}\nDemo database: {database}",
    ),
    "demo_refused": (
        "Thư mục {path} đã có dữ liệu không phải của demo: hãy chọn thư mục khác bằng --dir",
        "The folder {path} holds files that are not the demo's: choose another folder with --dir",
    ),
}


def message(key: str, language: Language, **values: object) -> str:
    """Return the message `key` in `language`, formatted with `values`, in NFC.

    Raises KeyError for an unknown key, so a typo fails in tests rather than printing
    a blank line.
    """
    vietnamese, english = MESSAGES[key]
    template = vietnamese if language == "vi" else english
    return unicodedata.normalize("NFC", template.format(**values))
