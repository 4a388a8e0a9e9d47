"""Messages of the command line in Vietnamese (the default) and English, by key.

`message(key, language, **values)` formats the text of `key` in `language` with
`str.format` placeholders and returns it NFC-normalised. Every key has both
languages with the same placeholders; a test checks that. A placeholder written
`{count:plural:check:checks}` prints the first word when the value is 1 and the
second otherwise, for English nouns after a count.

`HELP` holds the Vietnamese `--help` texts of the commands and options, by command
path (`"export excel"`) or command path and option (`"export excel --month"`); the
English text stays in the click decorators.
"""

from __future__ import annotations

import string
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
    "port_in_use": (
        "Cổng {port} trên {host} đang được tiến trình khác dùng ({detail}). Hãy dừng tiến trình đó "
        "(tìm bằng: ss -ltnp 'sport = :{port}' hoặc lsof -i :{port}) hoặc đổi [server] port trong {config}",
        "Port {port} on {host} is already in use ({detail}). Stop the other process "
        "(find it with: ss -ltnp 'sport = :{port}' or lsof -i :{port}) or change [server] port in {config}",
    ),
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
        "Recomputed {dates} {dates:plural:date:dates} of {employees} {employees:plural:employee:employees}. Months changed: {months}",
    ),
    "none": ("không có", "none"),
    "never": ("chưa có", "never"),
    "month_without_checkins": (
        "Cảnh báo: không nhân viên nào có lượt chấm công trong tháng {month}, nên bảng chấm công trống. "
        "Hãy kiểm tra --month nếu không đúng ý",
        "Warning: no employee has a check-in in {month}, so the timesheet is empty. "
        "Check --month if that is not what you meant",
    ),
    "excel_written": (
        "Đã ghi bảng chấm công tháng {month}: {path}",
        "Timesheet of {month} written: {path}",
    ),
    "sheets_written": (
        "Đã ghi {tabs} tab của tháng {month} vào Google Sheet ({calls} lần gọi API): {url}",
        "Wrote {tabs} {tabs:plural:tab:tabs} of {month} to the Google Sheet ({calls} API {calls:plural:call:calls}): {url}",
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
        "Database backed up to {path} ({size} {size:plural:byte:bytes})",
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
    "status_no_database": (
        "Chưa có cơ sở dữ liệu {path}: serve tạo nó khi chạy lần đầu, nên chưa có gì để báo.",
        "No database yet at {path}: serve creates it on its first start, so there is nothing to report.",
    ),
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
    "doctor_keys_ok": ("Đã cấu hình {count} khóa API", "{count} API {count:plural:key:keys} configured"),
    "doctor_keys_missing": (
        "Chưa có khóa API: đặt ACHECKIN_SYNC_API_KEYS hoặc ingest.api_keys_file, rồi nhập cùng khóa trong ACheckin CMS",
        "No API key configured: set ACHECKIN_SYNC_API_KEYS or ingest.api_keys_file, then enter the same key in the ACheckin CMS",
    ),
    "doctor_sheets_off": (
        "Google Sheets chưa bật (sheets.spreadsheet để trống)",
        "Google Sheets is off (sheets.spreadsheet is empty)",
    ),
    "doctor_all_ok": ("Mọi kiểm tra đều đạt.", "Every check passed."),
    "doctor_failed": (
        "{count} kiểm tra chưa đạt; sửa theo hướng dẫn ở trên.",
        "{count} {count:plural:check:checks} failed; fix {count:plural:it:them} as described above.",
    ),
    "doctor_warnings": (
        "{count} cảnh báo ở trên: hãy xem lại, nếu đúng ý thì bỏ qua.",
        "{count} {count:plural:warning:warnings} above: check {count:plural:it:them}, and ignore {count:plural:it:them} if the set-up is intended.",
    ),
    "doctor_database_missing": (
        "Chưa có cơ sở dữ liệu: serve sẽ tạo {path} khi chạy lần đầu (thư mục {folder} ghi được)",
        "No database yet: serve will create {path} on its first start (the folder {folder} is writable)",
    ),
    "doctor_database_unwritable": (
        "Không ghi được cơ sở dữ liệu {path}: chưa có tệp và serve không tạo được vì {detail}. "
        "Hãy sửa quyền ghi hoặc đổi storage.database",
        "Cannot write the database {path}: it does not exist yet, and serve cannot create it because {detail}. "
        "Fix the permissions or change storage.database",
    ),
    "doctor_not_a_writable_folder": (
        "{folder} không phải thư mục ghi được",
        "{folder} is not a writable folder",
    ),
    "doctor_export_missing": (
        "Thư mục xuất {path} chưa có; lần xuất đầu tiên sẽ tạo nó (thư mục {folder} ghi được)",
        "The export folder {path} does not exist yet; the first export creates it (the folder {folder} is writable)",
    ),
    "doctor_keys_file_failed": (
        "Không đọc được tệp khóa API: {detail}. Hãy tạo tệp đó (mỗi dòng một khóa) hoặc đặt ingest.api_keys_file = \"\" "
        "và dùng ACHECKIN_SYNC_API_KEYS",
        "Cannot read the API key file: {detail}. Create it (one key per line) or set ingest.api_keys_file = \"\" "
        "and use ACHECKIN_SYNC_API_KEYS",
    ),
    "doctor_long_shift": (
        "Ca \"{name}\" dài {hours} giờ ({begin}–{end}): nếu không cố ý, hãy sửa attendance.shifts.{name}.begin hoặc .end "
        "(ví dụ gõ nhầm \"07:00\" thay cho \"17:00\")",
        "The shift \"{name}\" lasts {hours} hours ({begin}–{end}): unless intended, fix attendance.shifts.{name}.begin or .end "
        "(for example \"07:00\" typed for \"17:00\")",
    ),
    # demo
    "demo_receiver": ("Bộ nhận thử nghiệm chạy tại {url}", "Demo receiver running at {url}"),
    "demo_posted": (
        "Đã gửi {count} lượt chấm công của {employees} nhân viên (tháng {month}) qua HTTP",
        "Posted {count} {count:plural:check-in:check-ins} of {employees} {employees:plural:employee:employees} ({month}) over HTTP",
    ),
    "demo_rolled_up": (
        "Đã tổng hợp chấm công: {dates} ngày của {employees} nhân viên",
        "Rolled up {dates} {dates:plural:date:dates} of {employees} {employees:plural:employee:employees}",
    ),
    "demo_done": (
        "Xong. Mở bảng chấm công: {path}\nCơ sở dữ liệu thử nghiệm: {database}",
        "Done. Open the timesheet: {path}\nDemo database: {database}",
    ),
    "demo_refused": (
        "Thư mục {path} đã có dữ liệu không phải của demo: hãy chọn thư mục khác bằng --dir",
        "The folder {path} holds files that are not the demo's: choose another folder with --dir",
    ),
}


class _PluralFormatter(string.Formatter):
    """`str.format` plus the spec `plural:ONE:MANY`, which picks a word by the value."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec.startswith("plural:"):
            _, one, many = format_spec.split(":", 2)
            return one if value == 1 else many
        return super().format_field(value, format_spec)


_FORMATTER = _PluralFormatter()


def message(key: str, language: Language, **values: object) -> str:
    """Return the message `key` in `language`, formatted with `values`, in NFC.

    Raises KeyError for an unknown key, so a typo fails in tests rather than printing
    a blank line.
    """
    vietnamese, english = MESSAGES[key]
    template = vietnamese if language == "vi" else english
    return unicodedata.normalize("NFC", _FORMATTER.format(template, **values))


HELP: dict[str, str] = {
    "": "Nhận dữ liệu chấm công ACheckin vào SQLite và xuất bảng chấm công hằng tháng.",
    "--config": "Tệp cấu hình; đường dẫn tương đối trong tệp tính từ thư mục chứa nó. Có thể đặt sau tên lệnh.",
    "--help": "Hiện hướng dẫn này rồi thoát.",
    "serve": "Chạy bộ nhận webhook, cùng việc tổng hợp và xuất bảng chấm công theo lịch.",
    "rollup": "Tính lại chấm công theo ngày: những gì có thay đổi, cộng mọi ngày từ --from đến --to.",
    "rollup --from": "Ngày đầu tiên cần tính lại (giờ địa phương), tính cả ngày đó.",
    "rollup --to": "Ngày cuối cùng cần tính lại (giờ địa phương), tính cả ngày đó.",
    "export": "Ghi bảng chấm công của một tháng ra Excel hoặc Google Sheets.",
    "export excel": "Tổng hợp phần còn chờ, rồi ghi tệp Excel của tháng.",
    "export excel --month": "Tháng cần xuất, ví dụ 2026-11.",
    "export excel --out": "Đường dẫn tệp Excel; đường dẫn tương đối nằm trong thư mục xuất (mặc định timesheet-YYYY-MM.xlsx ở đó).",
    "export sheets": "Tổng hợp phần còn chờ, rồi ghi lại các tab của tháng trong Google Sheet.",
    "export sheets --month": "Tháng cần xuất, ví dụ 2026-11.",
    "replay": "Xử lý lại các lượt gửi trong hàng chờ lỗi, sau khi đã sửa nguyên nhân bị từ chối.",
    "status": "Xem lượt gửi hôm nay, lượt gửi gần nhất, hàng chờ lỗi, các lần chạy gần nhất và xung đột ca.",
    "doctor": "Kiểm tra cài đặt và chỉ ra cần sửa gì: cấu hình, cơ sở dữ liệu, khóa API, Google Sheets.",
    "backup": "Sao chép cơ sở dữ liệu sang TARGET một cách nhất quán, kể cả khi serve đang chạy.",
    "restore": "Thay cơ sở dữ liệu bằng BACKUP_FILE; hãy dừng serve trước.",
    "restore --yes": "Thay cơ sở dữ liệu mà không hỏi lại.",
    "demo": "Gửi một tháng dữ liệu chấm công giả qua HTTP, tổng hợp và ghi tệp Excel.",
    "demo --dir": "Thư mục chứa cấu hình, cơ sở dữ liệu và tệp Excel riêng của demo.",
    "demo --language": "Ngôn ngữ của tệp Excel và thông báo; mặc định theo export.language của cấu hình, nếu không có thì vi.",
}
"""Vietnamese `--help` texts by command path, or command path and option; see the module docstring."""

CLICK_TEXTS: dict[str, str] = {
    "usage": "Cách dùng: ",
    "options": "Tùy chọn",
    "commands": "Lệnh",
    "try_help": "Thử '{command} {option}' để xem hướng dẫn.",
    "no_such_option": "Không có tùy chọn {name}.",
    "did_you_mean": "Có phải ý bạn là {names}?",
    "missing_option": "Thiếu tùy chọn {name}.",
    "missing_argument": "Thiếu đối số {name}.",
    "no_such_command": "Không có lệnh {name!r}.",
    "default": "mặc định",
    "env_var": "biến môi trường",
    "required": "bắt buộc",
}
"""Vietnamese forms of click's own help headings and usage errors."""
