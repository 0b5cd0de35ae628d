#include "bn_image_codecs.h"
#include <png.h>
#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

// Refuse images of more than 2^26 pixels (8192 x 8192) before decoding: a few hundred bytes of
// PNG can declare any size, and the pixels become Float32 tensors (4 bytes per channel value).
#define BN_MAX_PIXELS (1L << 26)

static void set_message(char *message, size_t size, const char *text) {
    if (message && size > 0) { strncpy(message, text, size - 1); message[size - 1] = 0; }
}

void bn_free(void *pointer) { free(pointer); }

// ---------------------------------------------------------------- PNG

typedef struct {
    jmp_buf jump;
    char *message;
    size_t message_size;
    const unsigned char *data;
    size_t size, position;
} png_context;

static void png_error_handler(png_structp png, png_const_charp text) {
    png_context *c = (png_context *)png_get_error_ptr(png);
    set_message(c->message, c->message_size, text);
    longjmp(c->jump, 1);
}

// Warnings (unknown profiles, ancillary CRC errors) do not change the pixels: ignored.
static void png_warning_handler(png_structp png, png_const_charp text) { (void)png; (void)text; }

static void png_read_memory(png_structp png, png_bytep out, size_t count) {
    png_context *c = (png_context *)png_get_io_ptr(png);
    if (c->size - c->position < count) png_error(png, "file ends early (truncated)");
    memcpy(out, c->data + c->position, count);
    c->position += count;
}

int bn_png_decode(const unsigned char *data, size_t size, unsigned char **pixels,
                  int *width, int *height, int *channels, char *message, size_t message_size) {
    *pixels = NULL;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        set_message(message, message_size, "not a PNG file (bad signature)");
        return 1;
    }
    png_context context = { .message = message, .message_size = message_size, .data = data, .size = size, .position = 0 };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, png_error_handler, png_warning_handler);
    if (!png) { set_message(message, message_size, "libpng could not start"); return 1; }
    png_infop info = png_create_info_struct(png);
    // volatile: modified between setjmp and a possible longjmp.
    unsigned char *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_message(message, message_size, "libpng could not start");
        return 1;
    }
    if (setjmp(context.jump)) {
        free(buffer);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return 1;
    }
    png_set_read_fn(png, &context, png_read_memory);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if ((long)w * (long)h > BN_MAX_PIXELS) png_error(png, "image too large");
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_strip_alpha(png);  // also drops a tRNS chunk's transparency: colours are kept as stored
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int n = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if ((n != 1 && n != 3) || row_bytes != (size_t)w * n) png_error(png, "unexpected pixel layout after conversion");
    buffer = malloc(row_bytes * h);
    rows = malloc(sizeof(png_bytep) * h);
    if (!buffer || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = buffer + y * row_bytes;
    png_read_image(png, rows);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    *pixels = buffer;
    *width = (int)w;
    *height = (int)h;
    *channels = n;
    return 0;
}

int bn_png_encode(const unsigned char *pixels, int width, int height, int channels,
                  unsigned char **out, size_t *out_size, char *message, size_t message_size) {
    *out = NULL;
    *out_size = 0;
    if (channels != 1 && channels != 3) { set_message(message, message_size, "PNG output needs 1 or 3 channels"); return 1; }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    // The simplified API handles its own errors; a first call measures the size.
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        return 1;
    }
    unsigned char *buffer = malloc(size);
    if (!buffer) { set_message(message, message_size, "out of memory"); return 1; }
    if (!png_image_write_to_memory(&image, buffer, &size, 0, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        free(buffer);
        return 1;
    }
    *out = buffer;
    *out_size = size;
    return 0;
}

// ---------------------------------------------------------------- JPEG

typedef struct {
    struct jpeg_error_mgr manager;  // first, so libjpeg's pointer to it is a pointer to this
    jmp_buf jump;
    char *message;
    size_t message_size;
} jpeg_context;

static void jpeg_error_handler(j_common_ptr info) {
    jpeg_context *c = (jpeg_context *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    set_message(c->message, c->message_size, text);
    longjmp(c->jump, 1);
}

// level -1 is a corrupt-data warning (premature end, bad Huffman code): the pixels would be
// partly invented, so it is an error. Trace messages (level >= 0) are dropped.
static void jpeg_message_handler(j_common_ptr info, int level) {
    if (level < 0) jpeg_error_handler(info);
}

int bn_jpeg_decode(const unsigned char *data, size_t size, unsigned char **pixels,
                   int *width, int *height, int *channels, char *message, size_t message_size) {
    *pixels = NULL;
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
        set_message(message, message_size, "not a JPEG file (bad signature)");
        return 1;
    }
    struct jpeg_decompress_struct info;
    jpeg_context context = { .message = message, .message_size = message_size };
    info.err = jpeg_std_error(&context.manager);
    context.manager.error_exit = jpeg_error_handler;
    context.manager.emit_message = jpeg_message_handler;
    unsigned char *volatile buffer = NULL;
    if (setjmp(context.jump)) {
        free(buffer);
        jpeg_destroy_decompress(&info);
        return 1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    info.out_color_space = info.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    if ((long)info.image_width * (long)info.image_height > BN_MAX_PIXELS) {
        set_message(message, message_size, "image too large");
        jpeg_destroy_decompress(&info);
        return 1;
    }
    jpeg_start_decompress(&info);
    int n = info.output_components;
    size_t row_bytes = (size_t)info.output_width * n;
    buffer = malloc(row_bytes * info.output_height);
    if (!buffer) { set_message(message, message_size, "out of memory"); jpeg_destroy_decompress(&info); return 1; }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = buffer + info.output_scanline * row_bytes;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    *channels = n;
    jpeg_destroy_decompress(&info);
    *pixels = buffer;
    return 0;
}

int bn_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                   unsigned char **out, size_t *out_size, char *message, size_t message_size) {
    *out = NULL;
    *out_size = 0;
    if (channels != 1 && channels != 3) { set_message(message, message_size, "JPEG output needs 1 or 3 channels"); return 1; }
    struct jpeg_compress_struct info;
    jpeg_context context = { .message = message, .message_size = message_size };
    info.err = jpeg_std_error(&context.manager);
    context.manager.error_exit = jpeg_error_handler;
    context.manager.emit_message = jpeg_message_handler;
    unsigned char *volatile buffer = NULL;
    unsigned long buffer_size = 0;
    if (setjmp(context.jump)) {
        jpeg_destroy_compress(&info);
        free(buffer);
        return 1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, (unsigned char **)&buffer, &buffer_size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = channels;
    info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    size_t row_bytes = (size_t)width * channels;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + info.next_scanline * row_bytes);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *out = buffer;
    *out_size = buffer_size;
    return 0;
}
